package sim

import (
	"strings"
	"testing"

	"github.com/membergate/membergate/pkg/gate/remediate"
)

// remediationPairs plays the first n seeds that ask for member remediation
// and have a member in ERROR, with it and without it.
func remediationPairs(t *testing.T, n int) []Pair {
	t.Helper()
	var out []Pair
	for seed := uint64(1); len(out) < n && seed < 20000; seed++ {
		sc := Generate(seed)
		if u := unremediated(sc); u != nil {
			out = append(out, Pair{Scenario: sc, Gated: Run(sc, Options{Gate: true}), Unremediated: u})
		}
	}
	if len(out) < n {
		t.Fatalf("only %d seeds with remediation and a member in ERROR", len(out))
	}
	return out
}

// TestRemediationRecreatesMembersWithinItsBounds: with spec.remediation
// Recreate the gate recreates members in ERROR through the real planner,
// and rollouts that would hold for good without it complete without a
// person; it gives up on a member that fails every time and stands back
// while the cloud has more than one member in ERROR; and it never breaks
// its bounds (checked against the ground truth) nor the gate's invariant.
func TestRemediationRecreatesMembersWithinItsBounds(t *testing.T) {
	pairs := remediationPairs(t, 60)
	for _, f := range Failures(pairs) {
		t.Error(f)
	}
	r := SummarizeRemediation(pairs)
	t.Logf("%+v", r)
	if r.Violations != 0 {
		t.Errorf("%d bound violations", r.Violations)
	}
	if r.Attempts == 0 || r.Recovered == 0 || r.Failed == 0 {
		t.Errorf("attempts %d, recovered %d, failed again %d: want some of each", r.Attempts, r.Recovered, r.Failed)
	}
	if r.ExhaustedRuns == 0 || r.SuspendedRuns == 0 {
		t.Errorf("runs that gave up %d, runs the breaker stopped %d: the faults do not reach the bounds", r.ExhaustedRuns, r.SuspendedRuns)
	}
	if r.CompletedWith <= r.CompletedWithout || r.HeldForeverWith >= r.HeldForeverWithout {
		t.Errorf("completed without a person: %d with remediation, %d without; held forever: %d with, %d without",
			r.CompletedWith, r.CompletedWithout, r.HeldForeverWith, r.HeldForeverWithout)
	}
}

// TestRemediationChecksCanFail: the bound checks flag a delete of a
// deleting Machine's member, a delete while two members are in ERROR, and
// a fourth attempt within the hour.
func TestRemediationChecksCanFail(t *testing.T) {
	sc := healthyDrillCluster(3, 1, "v0.13")
	w := newWorld(sc, Options{Gate: true})
	old := w.machines[0]
	old.deleting = 10
	w.lb.members[1].prov, w.lb.members[2].prov = "ERROR", "ERROR"
	w.checkRemediation(20, remediate.Action{Machine: old.name, PoolID: poolID(0), MemberID: old.members[0].id})
	for i := range remediate.MaxAttemptsPerHour + 1 {
		w.countStart(100+600*i, remediate.Attempt{Machine: old.name, PoolID: poolID(0)})
	}
	got := strings.Join(w.res.Remediation.Violations, "\n")
	for _, want := range []string{"which is being deleted", "while 2 members were in ERROR", "attempt 4 on"} {
		if !strings.Contains(got, want) {
			t.Errorf("no violation %q in:\n%s", want, got)
		}
	}
	if len(Failures([]Pair{{Gated: w.finish(Horizon)}})) != 1 {
		t.Error("a run with bound violations is not listed among the failures")
	}
}

// TestRemediationIsNotStoppedByTheHeldMachinesMember: the old Machine KCP
// deletes has its member go ERROR as the deletion begins, and the new
// Machine's member (v0.14: created after KCP moved on) goes ERROR too. The
// old Machine is held until the new member serves and its member stays
// until it is let go; if the breaker counted it, no member would ever be
// recreated and the rollout would hold for good.
func TestRemediationIsNotStoppedByTheHeldMachinesMember(t *testing.T) {
	sc := healthyDrillCluster(3, 1, "v0.14")
	sc.Machines[3].Members[0].Error = true
	sc.Errors = ErrorPlan{Recreate: true, Deleting: true}
	r := Run(sc, Options{Gate: true})
	if r.Remediation.ErrorMembers != 2 {
		t.Fatalf("%d members went ERROR, want the held Machine's and the new one's", r.Remediation.ErrorMembers)
	}
	if !r.RolledOut || r.HeldForever || r.Remediation.Recovered != 1 || r.Remediation.Suspended != 0 {
		t.Errorf("rolled out %v, held forever %v, recovered %d, suspended %d: want the new member recreated and the rollout complete",
			r.RolledOut, r.HeldForever, r.Remediation.Recovered, r.Remediation.Suspended)
	}
	for _, v := range r.Remediation.Violations {
		t.Error(v)
	}
}
