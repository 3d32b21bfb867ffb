package bench

import (
	"reflect"
	"testing"
)

// strategiesByKey picks strategies for a test.
func strategiesByKey(t *testing.T, keys ...string) []Strategy {
	t.Helper()
	var out []Strategy
	for _, k := range keys {
		s, ok := StrategyByKey(k)
		if !ok {
			t.Fatalf("no strategy %q", k)
		}
		out = append(out, s)
	}
	return out
}

// The S1 claims of the report: memberwait never returns before the member
// serves, and answers within 2 s of the earliest moment a settle-window
// waiter can. CAPO ≤ v0.13 is the control: if the harness stopped telling
// an early return from a correct one, it would pass too.
func TestS1MemberwaitNeverReturnsEarly(t *testing.T) {
	sc := ScenarioAmphoraQuirk()
	sc.Runs = 5
	runs, err := RunAll(sc, strategiesByKey(t, keyMemberwait, keyMemberwaitShared, "capo-0.13"))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range memberwaitKeys {
		ss := samplesOf(runs[key])
		if n := count(ss, Correct); n != len(ss) || len(ss) != sc.Runs {
			t.Errorf("%s: %s, want every run correct", key, summary(ss, servesLabels))
		}
		for _, s := range ss {
			if lag, _ := lagAfterSettled(s); lag < 0 || lag > targetSettledLag {
				t.Errorf("%s seed %d: returned %s after the earliest settled answer, want within [0, %s]", key, s.r.Seed, lag, targetSettledLag)
			}
		}
	}
	if ss := samplesOf(runs["capo-0.13"]); count(ss, Early) != len(ss) {
		t.Errorf("CAPO ≤ v0.13: %s, want every run early (it waits for the load balancer only)", summary(ss, servesLabels))
	}
}

// The S2 claim: the shared Poller sends exactly one request per load
// balancer per poll. One memberwait.Wait per waiter is the control: its
// waiters start together, so a load balancer gets several requests at once.
func TestS2SharedPollerOneRequestPerLoadBalancerPerPoll(t *testing.T) {
	sc := ScenarioFanIn(10, 5)
	sc.Runs = 1
	runs, err := RunAll(sc, strategiesByKey(t, keyMemberwait, keyMemberwaitShared))
	if err != nil {
		t.Fatal(err)
	}
	if tg := onePerPoll("S2", runs[keyMemberwaitShared]); !tg.Pass {
		t.Errorf("shared Poller: %s", tg.Detail)
	}
	if ss := samplesOf(runs[keyMemberwaitShared]); count(ss, Correct) != len(ss) {
		t.Errorf("shared Poller: %s, want every wait correct", summary(ss, servesLabels))
	}
	if tg := onePerPoll("S2", runs[keyMemberwait]); tg.Pass {
		t.Errorf("one Wait per waiter passes the one-request-per-poll check (%s): the check cannot fail", tg.Detail)
	}
}

// A seed fixes a run: the same seed gives the same outcomes and the same
// requests at the same virtual times, noisy API included.
func TestRunsAreDeterministic(t *testing.T) {
	for _, st := range strategiesByKey(t, "terraform", "occm", keyMemberwaitShared) {
		a, err := RunOne(ScenarioNoisyAPI(), st, 3, Hooks{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := RunOne(ScenarioNoisyAPI(), st, 3, Hooks{})
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Requests) == 0 || !reflect.DeepEqual(a.Requests, b.Requests) || !sameOutcomes(a.Outcomes, b.Outcomes) {
			t.Errorf("%s: two runs with seed 3 differ:\n%+v\n%+v", st.Key, a.Outcomes, b.Outcomes)
		}
	}
}

func sameOutcomes(a, b []Outcome) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.OK != y.OK || x.At != y.At || x.SawActive != y.SawActive || x.Polls != y.Polls || x.Timeout != y.Timeout || (x.Err == nil) != (y.Err == nil) {
			return false
		}
	}
	return true
}
