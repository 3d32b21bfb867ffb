package memberwait_test

import (
	"context"
	"testing"
	"time"

	"github.com/membergate/membergate/pkg/memberwait"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
)

// TestWaitAllNeedsEveryMemberAtTheDecidingPoll: a member that served and
// then dropped while another was still settling is not serving. The wait
// ends on a poll that shows every member at its target.
func TestWaitAllNeedsEveryMemberAtTheDecidingPoll(t *testing.T) {
	b := newBed(t, true)
	first := b.seeded.MemberIDs[0][0]
	// Serves from the start, done at 45 s, drops at 50 s, back at 100 s.
	if err := b.octa.ScriptMember(first, octaviatest.MemberScript{Operating: []octaviatest.Step{
		{After: 0, Status: memberwait.StatusOnline}, {After: 50 * time.Second, Status: memberwait.StatusError}, {After: 100 * time.Second, Status: memberwait.StatusOnline},
	}}); err != nil {
		t.Fatal(err)
	}
	// Still settling when the first drops: ONLINE from 30 s, done at 75 s.
	b.octa.ScriptMembers(octaviatest.MemberMatch{Name: "new-0"}, octaviatest.MemberScript{
		Operating: []octaviatest.Step{{After: 0, Status: memberwait.StatusOffline}, {After: 30 * time.Second, Status: memberwait.StatusOnline}},
	})
	second := b.addMember("new-0", "10.0.0.12")
	var rs []memberwait.Result
	var err error
	b.wait(func() {
		rs, err = memberwait.WaitAll(context.Background(), memberwait.StatusTree(b.client), b.lb,
			[]memberwait.Selector{{ID: first}, {ID: second}},
			memberwait.Options{Clock: b.clk, Rand: func() float64 { return 0.5 }, Timeout: 5 * time.Minute})
	})
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	t.Logf("returned at %s", b.at())
	if got, earliest := b.at(), 100*time.Second+memberwait.DefaultSettleWindow; got < earliest {
		t.Fatalf("returned at %s; %s was not serving then (dropped at 50 s, ONLINE again from 100 s, serving from %s)", got, first, earliest)
	}
	for _, r := range rs {
		if r.Verdict.Outcome != memberwait.Done || !r.Verdict.At.Equal(rs[0].Verdict.At) {
			t.Errorf("%s: %s at %s, want Done at the deciding poll (%s)", r.Selector, r.Verdict.Outcome, r.Verdict.At.Sub(start), rs[0].Verdict.At.Sub(start))
		}
	}
}
