package bench

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/membergate/membergate/pkg/memberwait/vclock"
)

// onClock runs fn as the one actor of a simulation on a fresh virtual clock.
func onClock(fn func(clk *vclock.Clock)) {
	clk := vclock.New(epoch)
	a := newActors(false)
	a.enter("")
	go func() {
		defer a.exit("")
		fn(clk)
	}()
	drive(clk, a, nil, nil)
}

// checks runs a backoff whose condition never holds and returns when each
// check happened.
func checks(b k8sBackoff, rng *rand.Rand) (at []time.Duration, err error) {
	onClock(func(clk *vclock.Clock) {
		err = exponentialBackoff(clk, b, rng, func() (bool, error) {
			at = append(at, clk.Since(epoch))
			return false, nil
		})
	})
	return at, err
}

func near(a, b time.Duration) bool { return (a - b).Abs() < 50*time.Millisecond }

func TestCAPOBackoffSpendsAbout274SecondsWithGapsUpTo55(t *testing.T) {
	plain := capoBackoff
	plain.Jitter = 0
	at, err := checks(plain, rand.New(rand.NewPCG(1, 1)))
	if !errors.Is(err, errBudget) || len(at) != 20 {
		t.Fatalf("%d checks, err %v; want 20 checks, then the budget error", len(at), err)
	}
	last, gap1, gap2 := at[19], at[18]-at[17], at[19]-at[18]
	if !near(last, 273600*time.Millisecond) || !near(gap1, 44400*time.Millisecond) || !near(gap2, 55500*time.Millisecond) {
		t.Fatalf("last check at %s after gaps of %s and %s; want ≈273.6 s, 44.4 s, 55.5 s", last, gap1, gap2)
	}
	// Jitter only lengthens a gap, by less than 10 %.
	jittered, _ := checks(capoBackoff, rand.New(rand.NewPCG(7, 7)))
	for i := 1; i < len(at); i++ {
		d, j := at[i]-at[i-1], jittered[i]-jittered[i-1]
		if j < d || float64(j) >= 1.1*float64(d) {
			t.Fatalf("gap %d: %s with jitter, %s without: want within [d, 1.1 d)", i, j, d)
		}
	}
}

func TestOCCMBackoffSpendsAbout271Seconds(t *testing.T) {
	at, err := checks(occmBackoff, nil)
	if !errors.Is(err, errBudget) || len(at) != 23 || !near(at[22], 271030*time.Millisecond) {
		t.Fatalf("%d checks, the last at %v, err %v; want 23 checks, the last at ≈271.0 s", len(at), at[len(at)-1], err)
	}
}

func TestTerraformRefreshesAt0_1_3_7_15_25(t *testing.T) {
	var at []time.Duration
	var err error
	states := map[int]string{7: "ERROR"}
	onClock(func(clk *vclock.Clock) {
		conf := stateChangeConf{Target: []string{"ACTIVE"}, Pending: tfPending, Timeout: terraformTimeout, MinTimeout: time.Second,
			Refresh: func() (string, error) {
				at = append(at, clk.Since(epoch))
				if s, ok := states[len(at)]; ok {
					return s, nil
				}
				return "PENDING_CREATE", nil
			}}
		err = conf.wait(clk)
	})
	var want []time.Duration
	for _, s := range []int{0, 1, 3, 7, 15, 25, 35} {
		want = append(want, time.Duration(s)*time.Second)
	}
	if len(at) != len(want) || at[len(at)-1] != want[len(want)-1] || at[4] != want[4] {
		t.Fatalf("refreshed at %v, want %v", at, want)
	}
	if err == nil || errors.Is(err, errBudget) {
		t.Fatalf("ERROR gave %v, want an unexpected-state error at once", err)
	}

	// A wait that never ends runs into the timeout.
	var end time.Duration
	onClock(func(clk *vclock.Clock) {
		conf := stateChangeConf{Target: []string{"ACTIVE"}, Pending: tfPending, Timeout: terraformTimeout, MinTimeout: time.Second,
			Refresh: func() (string, error) { return "PENDING_UPDATE", nil }}
		err = conf.wait(clk)
		end = clk.Since(epoch)
	})
	if !errors.Is(err, errBudget) || end != terraformTimeout {
		t.Fatalf("ended at %s with %v, want the budget error at %s", end, err, terraformTimeout)
	}
}

func TestKuryrIntervalGrowsAbout1_6xUpTo15Seconds(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	d := kuryrNext(kuryrInterval, rng)
	if d < 1300*time.Millisecond || d > 1900*time.Millisecond {
		t.Fatalf("first gap %s, want ≈1.6 s", d)
	}
	for range 20 {
		next := kuryrNext(d, rng)
		if next > kuryrMaxInterval || (d < 9*time.Second && next < d*13/10) {
			t.Fatalf("after %s came %s: want growth ≈1.6× up to %s", d, next, kuryrMaxInterval)
		}
		d = next
	}
	if d != kuryrMaxInterval {
		t.Fatalf("after 20 steps the gap is %s, want the %s cap", d, kuryrMaxInterval)
	}
}

func TestJudge(t *testing.T) {
	serves := Case{ReadyAt: 55 * time.Second}
	never := Case{ReadyAt: -1}
	tests := []struct {
		c    Case
		o    Outcome
		want Judgement
	}{
		{serves, Outcome{OK: true, At: 55 * time.Second}, Correct},
		{serves, Outcome{OK: true, At: 54 * time.Second}, Early},
		{serves, Outcome{Err: errors.New("409"), At: time.Second}, Aborted},
		{serves, Outcome{Err: errBudget, Timeout: true, At: 300 * time.Second}, GaveUp},
		{never, Outcome{OK: true, At: time.Second}, Early},
		{never, Outcome{Err: errors.New("ERROR"), At: 7 * time.Second}, Correct},
		{never, Outcome{Err: errBudget, Timeout: true, At: 600 * time.Second}, Correct},
	}
	for _, tt := range tests {
		if got := judge(tt.c, tt.o); got != tt.want {
			t.Errorf("judge(%+v, %+v) = %d, want %d", tt.c.ReadyAt, tt.o, got, tt.want)
		}
	}
}

func TestParseGoBenchReadsWaitersMetrics(t *testing.T) {
	out := "goos: linux\ncpu: AMD EPYC\nBenchmarkWaiters/shared-10000-2  1  61000000000 ns/op  239508 requests/op  239508 polls/op  1.000 req/poll  1.000 max-req/LB/instant  1000 LBs  0 wrong/op  1237441 B/waiter  17746 allocs/waiter  10127 heap-B/waiter  6054243 cpu-ns/waiter\nPASS\n"
	r := &Report{}
	r.AddGoBench(out)
	if len(r.GoBench.Waiters) != 1 || len(r.GoBench.Lines) != 3 {
		t.Fatalf("parsed %+v", r.GoBench)
	}
	w := r.GoBench.Waiters[0]
	if w.Kind != "shared" || w.Waiters != 10000 || w.Metrics[metricPerPoll] != 1 || w.Metrics[metricBytes] != 1237441 {
		t.Fatalf("parsed %+v", w)
	}
	if len(r.Claims) != 2 || !r.Claims[0].Pass || !r.Claims[1].Pass {
		t.Fatalf("claims %+v", r.Claims)
	}
	r = &Report{}
	r.AddGoBench(strings.Replace(out, "1.000 max-req/LB/instant", "2.000 max-req/LB/instant", 1))
	if r.Claims[0].Pass {
		t.Fatal("two requests to one load balancer at one instant passed the scale target")
	}
}
