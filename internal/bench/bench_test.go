package bench

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// BenchmarkWaiters runs n concurrent Serving waits, ten per load balancer,
// through memberwait's shared Poller ("shared") or one memberwait.Wait per
// waiter ("each"), and reports what one waiter costs. It fails if any wait
// ends wrong, or if a shared poll ever sends a load balancer more than one
// request.
func BenchmarkWaiters(b *testing.B) {
	for _, bc := range []struct {
		key     string
		kind    string
		waiters int
	}{
		{keyMemberwaitShared, "shared", 100},
		{keyMemberwaitShared, "shared", 1000},
		{keyMemberwaitShared, "shared", 10000},
		{keyMemberwait, "each", 100},
		{keyMemberwait, "each", 1000},
	} {
		b.Run(fmt.Sprintf("%s-%d", bc.kind, bc.waiters), func(b *testing.B) {
			st, _ := StrategyByKey(bc.key)
			benchWaiters(b, st, ScenarioScale(bc.waiters/10, 10))
		})
	}
}

func benchWaiters(b *testing.B, st Strategy, sc Scenario) {
	// Per iteration: memory and CPU from the waiters' start to the last
	// return; the live heap when every waiter is parked. Setup is not timed.
	var allocated, allocs, live float64
	var cpu time.Duration
	var run *Run
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		var base, m runtime.MemStats
		var cpu0 time.Duration
		hooks := Hooks{
			Start: func() {
				runtime.GC()
				runtime.ReadMemStats(&base)
				cpu0 = cpuTime()
				b.StartTimer()
			},
			AtRest: func() {
				b.StopTimer()
				runtime.GC()
				runtime.ReadMemStats(&m)
				live += float64(m.HeapAlloc+m.StackInuse) - float64(base.HeapAlloc+base.StackInuse)
				b.StartTimer()
			},
			Done: func() {
				b.StopTimer()
				cpu += cpuTime() - cpu0
				runtime.ReadMemStats(&m)
				allocated += float64(m.TotalAlloc - base.TotalAlloc)
				allocs += float64(m.Mallocs - base.Mallocs)
			},
		}
		var err error
		if run, err = RunOne(sc, st, 1, hooks); err != nil {
			b.Fatal(err)
		}
		ss := samplesOf([]*Run{run})
		if wrong := len(ss) - count(ss, Correct); wrong > 0 {
			b.Fatalf("%d of %d waits ended wrong: %s", wrong, len(ss), summary(ss, servesLabels))
		}
	}
	same := 0
	trees := pollsOnly(run)
	for _, l := range lbLoad(trees) {
		same = max(same, l.sameTime)
	}
	requests := len(run.Requests)
	if st.Shared && (len(trees.Requests) != run.Polls || same != 1) {
		b.Fatalf("%d status-tree requests for %d polls, up to %d to one load balancer at one instant: want one request per load balancer per poll",
			len(trees.Requests), run.Polls, same)
	}
	waiters := float64(len(run.Cases) * b.N)
	b.ReportMetric(float64(lbCount(run)), metricLBs)
	b.ReportMetric(float64(requests), metricRequests)
	b.ReportMetric(float64(same), metricSameTime)
	b.ReportMetric(0, metricWrong)
	if st.Shared {
		b.ReportMetric(float64(run.Polls), metricPolls)
		// Per poll: the status trees; the Auto window's one-off reads of
		// monitors and providers are in requests/op.
		b.ReportMetric(float64(len(trees.Requests))/float64(run.Polls), metricPerPoll)
	}
	b.ReportMetric(allocated/waiters, metricBytes)
	b.ReportMetric(allocs/waiters, metricAllocs)
	b.ReportMetric(live/waiters, metricHeap)
	b.ReportMetric(float64(cpu.Nanoseconds())/waiters, metricCPU)
}
