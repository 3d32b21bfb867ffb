package bench

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestFiguresIgnoreScheduling: the document claims that the same seeds give
// the same figures on any machine. Real scheduling must therefore never
// reach virtual time: the scenarios run once as they are, then with other
// goroutines competing for the processors and with GOMAXPROCS at 1 and at
// several times the cores (which also changes how many runs RunAll runs at
// once), and every figure of the tables — and, below them, every run's
// outcomes and requests — must come out the same. The scenarios are the
// ones where timing has room to leak: several waiters on one load balancer,
// per waiter and behind a shared Poller (S2b, S2), and injected faults drawn
// from the emulator's seeded source, with latency (S4).
func TestFiguresIgnoreScheduling(t *testing.T) {
	s2b := ScenarioOneMemberFanIn(6)
	s2b.Runs = 2
	s2 := ScenarioFanIn(3, 4)
	s2.Runs = 1
	s4 := ScenarioNoisyAPI()
	s4.Runs = 3
	scenarios := []Scenario{s2b, s2, s4}
	strategies := Strategies()

	want := fingerprint(t, strategies, scenarios)
	// One processor (every interleaving serialised), two shared with a
	// busy goroutine, and many more processors than cores with two: a
	// busy goroutine on a lone processor would starve the network poller
	// and make the test slow for nothing.
	for _, c := range []struct{ procs, busy int }{{1, 0}, {2, 1}, {4 * runtime.NumCPU(), 2}} {
		t.Run(fmt.Sprintf("GOMAXPROCS=%d, %d busy goroutines", c.procs, c.busy), func(t *testing.T) {
			stop := busy(c.busy)
			defer stop()
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(c.procs))
			got := fingerprint(t, strategies, scenarios)
			if got != want {
				t.Fatalf("the figures depend on scheduling:\n%s", firstDifference(want, got))
			}
		})
	}
}

// busy starts n goroutines that compete for the processors in bursts of
// spinning (which the runtime preempts at any point) and short sleeps (so
// that the network poller, which a processor that never idles checks
// rarely, keeps the runs moving), and returns their stop.
func busy(n int) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				for end := time.Now().Add(200 * time.Microsecond); time.Now().Before(end); {
				}
				time.Sleep(100 * time.Microsecond)
			}
		}()
	}
	return func() { close(done); wg.Wait() }
}

// fingerprint runs the scenarios and renders their tables and targets, then
// every run: its outcomes and its requests, sorted (requests sent at one
// virtual instant by different waiters reach the log in any order, which no
// figure depends on).
func fingerprint(t *testing.T, strategies []Strategy, scenarios []Scenario) string {
	t.Helper()
	r, err := Build(strategies, scenarios, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(r.Text())
	for _, sc := range scenarios {
		for _, st := range strategies {
			for _, run := range r.Results[sc.ID][st.Key] {
				fmt.Fprintf(&b, "%s %s seed %d: polls %d\n", sc.ID, st.Key, run.Seed, run.Polls)
				for i, o := range run.Outcomes {
					fmt.Fprintf(&b, "  waiter %d: ok %v at %s saw ACTIVE %s polls %d timeout %v error %q\n",
						i, o.OK, o.At, o.SawActive, o.Polls, o.Timeout, shortErr(o.Err))
				}
				reqs := slices.Clone(run.Requests)
				slices.SortFunc(reqs, func(x, y APIRequest) int { return cmp.Or(cmp.Compare(x.At, y.At), strings.Compare(x.Path, y.Path)) })
				for _, q := range reqs {
					fmt.Fprintf(&b, "  %s %s\n", q.At, q.Path)
				}
			}
		}
	}
	return b.String()
}

// firstDifference shows where two fingerprints part, with some context.
func firstDifference(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) && i < len(g); i++ {
		if w[i] != g[i] {
			lo := max(0, i-3)
			return fmt.Sprintf("line %d\nwant:\n%s\ngot:\n%s", i+1, strings.Join(w[lo:min(len(w), i+3)], "\n"), strings.Join(g[lo:min(len(g), i+3)], "\n"))
		}
	}
	return fmt.Sprintf("lengths %d and %d lines", len(w), len(g))
}

// TestLoadBalancerLoadInAFixedOrder: the per-load-balancer figures of a run
// come in one order, so that sums of them (the fan-in table's mean rate, a
// float) do not change with Go's random map iteration order.
func TestLoadBalancerLoadInAFixedOrder(t *testing.T) {
	r := &Run{LBOf: map[string]string{}}
	for i := range 16 {
		lb := fmt.Sprintf("lb-%02d", i)
		r.LBOf[lb] = lb
		r.Cases = append(r.Cases, Case{Waiter: Waiter{LB: lb}})
		r.Outcomes = append(r.Outcomes, Outcome{At: time.Duration(i+1) * 1300 * time.Millisecond})
		for j := 0; j <= i; j++ {
			r.Requests = append(r.Requests, APIRequest{At: time.Duration(j) * 700 * time.Millisecond, Path: "/v2/lbaas/loadbalancers/" + lb + "/status"})
		}
	}
	first := fmt.Sprint(lbLoad(r))
	for range 20 {
		if got := fmt.Sprint(lbLoad(r)); got != first {
			t.Fatalf("lbLoad gave\n%s\nthen\n%s", first, got)
		}
	}
}
