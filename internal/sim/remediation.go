package sim

import (
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/gate/cycle"
	"github.com/membergate/membergate/pkg/gate/remediate"
	"github.com/membergate/membergate/pkg/memberwait"
)

// ErrorPlan is the failure mode "a member goes to provisioning ERROR and
// stays", beyond the member-error fault's one reverted create flow
// (MemberPlan.Error), and the MemberGate's answer to it.
type ErrorPlan struct {
	// Recreate: the MemberGate's spec.remediation is Recreate; the gate
	// deletes a control-plane member in ERROR and has CAPO create it
	// again, as pkg/gate/remediate plans.
	Recreate bool
	// Again is how many times a member in ERROR, created again (by CAPO,
	// after the gate or a person deleted it), goes ERROR again: the cause
	// is the Machine's, not the flow's. Forever: every time.
	Again int
	// Cloud, when > 0: as the first member goes ERROR, that many other
	// members of the load balancer go ERROR too (an amphora's
	// configuration push failed: Octavia marks the members it carried
	// ERROR); HAProxy keeps serving them as it had them. CloudFor later
	// an operator repairs them (a load-balancer failover marks the
	// members ACTIVE); Forever: nobody does.
	Cloud, CloudFor int
	// Deleting: the first old Machine KCP deletes has its member go ERROR
	// as the deletion begins (it keeps serving until the Machine goes):
	// the one member in ERROR remediation must never touch.
	Deleting bool
}

// pokeDelay is how soon CAPO reconciles an OpenStackMachine the gate
// annotated: a watch event, then the reconcile.
const pokeDelay = 2

// drawErrors draws the ERROR failure mode and the remediation policy from a
// stream of their own, so that every other part of a seed's scenario is
// what it always was. Two seeds in five ask for remediation; a mixed seed
// that asks for it gets a member in ERROR half the time, so that
// remediation runs under every other fault.
func drawErrors(seed uint64, s *Scenario) {
	r := rand.New(rand.NewPCG(seed, 0x72656d))
	e := &s.Errors
	e.Recreate = r.IntN(5) < 2
	if e.Recreate && s.Kind == Mixed && r.IntN(2) == 0 {
		faults{r: r, s: s}.memberError()
	}
	if !hasErrorMember(s) {
		return
	}
	e.Again = []int{0, 0, 0, 1, Forever}[r.IntN(5)]
	if s.FixErrorAfter > 0 {
		// The scripted person deletes every member in ERROR, serving or
		// not: the extra members in ERROR below are not theirs to fix.
		return
	}
	if r.IntN(5) == 0 {
		e.Cloud, e.CloudFor = between(r, 1, 2), []int{between(r, 120, 900), Forever}[r.IntN(2)]
	}
	e.Deleting = r.IntN(6) == 0
}

func hasErrorMember(s *Scenario) bool {
	for _, m := range s.Machines {
		for _, mp := range m.Members {
			if mp.Error {
				return true
			}
		}
	}
	return false
}

// RemediationResult is what member remediation did in one run, and the
// checks of its bounds against the model's ground truth.
type RemediationResult struct {
	// Attempts counts the members the gate deleted to have them created
	// again (new attempts, not the deletes sent again).
	Attempts int
	// Recovered counts the attempts whose new member was provisioned
	// (ACTIVE); Failed those whose new member went ERROR again.
	Recovered, Failed int
	// Exhausted counts MemberRemediationExhausted events (the hour's
	// attempts spent: remediation gave up); Suspended
	// MemberRemediationSuspended events (the breaker: more than one
	// member of the load balancer in ERROR).
	Exhausted, Suspended int
	// ErrorMembers counts the members that went ERROR in the run.
	ErrorMembers int
	// PersonFixes counts members a person deleted because they were in
	// ERROR.
	PersonFixes int
	// Violations are remediation's bounds broken: a deleting Machine's
	// member deleted, more than MaxAttemptsPerHour attempts on one member
	// in an hour, a delete while more than one member was in ERROR.
	Violations []string
	// starts are the attempts' start times per Machine and pool.
	starts map[string][]int
}

// remediationMemory is what the controller keeps of remediation in the
// MemberGate status (status.remediation): it survives crashes.
type remediationMemory struct {
	attempts  []remediate.Attempt
	suspended string
}

// errorWorld is the state of the ERROR faults and of what remediation did,
// for the report.
type errorWorld struct {
	// cloudFixAt is when the operator repairs the cloud fault (0: never),
	// cloudErrored the members it and the deletion fault put in ERROR.
	cloudFixAt                 int
	cloudErrored               []*member
	cloudDone, deletingErrored bool
	// recreations counts each Machine's and pool's members created again.
	recreations map[string]int
	// recreated are the members that replaced one remediation deleted;
	// errored the members whose create flow ended in ERROR.
	recreated, errored map[string]bool
}

// memberErrored is Octavia putting a member into ERROR: the first time,
// the cloud fault takes other members with it.
func (w *world) memberErrored(t int, mb *member) {
	w.res.Remediation.ErrorMembers++
	if w.errs.errored == nil {
		w.errs.errored = map[string]bool{}
	}
	w.errs.errored[mb.id] = true
	e := w.sc.Errors
	if e.Cloud <= 0 || w.errs.cloudDone {
		return
	}
	w.errs.cloudDone = true
	n := 0
	for _, o := range w.lb.members {
		if n == e.Cloud {
			break
		}
		if o == mb || o.removed || o.prov != memberwait.StatusActive {
			continue
		}
		w.errorServing(t, o, "amphora's configuration push failed")
		n++
	}
	if e.CloudFor != Forever {
		w.errs.cloudFixAt = t + e.CloudFor
	}
}

// errorServing puts a serving member into provisioning ERROR; HAProxy keeps
// it as it was.
func (w *world) errorServing(t int, mb *member, why string) {
	mb.prov = memberwait.StatusError
	// From now on, for the person who deletes members in ERROR.
	mb.doneAt = t
	w.errs.cloudErrored = append(w.errs.cloudErrored, mb)
	w.res.Remediation.ErrorMembers++
	w.tracef(t, "octavia", "member %s of %s ERROR (%s; HAProxy keeps serving it: %v)", mb.id, mb.m.name, why, w.serving(mb, t))
}

// stepMemberErrors plays the ERROR faults that are not a create flow's:
// the member of the first old Machine KCP deletes, and the operator's
// repair of the cloud fault.
func (w *world) stepMemberErrors(t int) {
	if w.sc.Errors.Deleting && !w.errs.deletingErrored {
		for _, m := range w.machines {
			if m.outdated && m.isDeleting() && m.members[0] != nil && m.members[0].prov == memberwait.StatusActive {
				w.errs.deletingErrored = true
				w.errorServing(t, m.members[0], "a failed member update as its Machine's deletion began")
				break
			}
		}
	}
	if w.errs.cloudFixAt > 0 && t == w.errs.cloudFixAt {
		for _, mb := range w.errs.cloudErrored {
			if !mb.removed && mb.prov == memberwait.StatusError {
				mb.prov = memberwait.StatusActive
			}
		}
		w.tracef(t, "person", "repaired the load balancer (failover): the members the cloud fault left in ERROR are ACTIVE")
	}
}

// recreatedPlan is how a member created again after a delete behaves: a
// normal member, or ERROR again while the cause persists.
func (w *world) recreatedPlan(m *machine, pool int, plan MemberPlan) MemberPlan {
	if w.errs.recreations == nil {
		w.errs.recreations = map[string]int{}
	}
	k := fmt.Sprintf("%s/%d", m.name, pool)
	w.errs.recreations[k]++
	again := m.plan.Members[pool].Error && (w.sc.Errors.Again == Forever || w.errs.recreations[k] <= w.sc.Errors.Again)
	return MemberPlan{Flow: plan.Flow, Check: plan.Check, Error: again}
}

// remediate is GateReconciler.reconcileRemediation on the model: the real
// planner (remediate.Decide) on what this reconcile observed, its deletes
// sent to Octavia as the gate's requests, its pokes making CAPO reconcile
// the Machine within pokeDelay. It returns the planner's requeue.
func (c *controller) remediate(t int, machines []*machine, out cycle.Outcome) time.Duration {
	if !c.w.sc.Errors.Recreate {
		return 0
	}
	in := remediate.Input{Now: at(t), Attempts: c.rem.attempts, Suspended: c.rem.suspended}
	snap := out.Snapshot
	in.Enabled = out.Input.Policy.Mode == gate.Enforce && !out.Input.Paused && !out.Input.Deleting &&
		out.Input.LoadBalancer.Err == nil && snap != nil && snap.Found
	if in.Enabled {
		in.Members, in.ErrorMembers = remediationMembers(machines, t, snap)
	}
	plan := remediate.Decide(in)
	w, res := c.w, &c.w.res.Remediation
	for _, a := range plan.Delete {
		w.checkRemediation(t, a)
		if w.lb.apiError(t, true) != nil {
			continue // the attempt stays Deleting: sent again later
		}
		for _, mb := range w.lb.members {
			if mb.id == a.MemberID && !mb.removed && w.lb.remove(t, mb) {
				w.tracef(t, "gate", "remediation: deleted member %s of %s (%s)", mb.id, a.Machine, mb.prov)
			}
		}
	}
	for _, name := range plan.Poke {
		if m := w.byNameOne(name); m != nil && m.infraDel < 0 {
			if m.memberDue < 0 || m.memberDue > t+pokeDelay {
				m.memberDue = t + pokeDelay
			}
			w.tracef(t, "gate", "remediation: annotated %s's OpenStackMachine: CAPO reconciles it at %d", name, m.memberDue)
		}
	}
	for _, a := range plan.Attempts {
		if a.Phase == remediate.Deleting && a.Started.Equal(at(t)) && !slices.ContainsFunc(in.Attempts, func(o remediate.Attempt) bool {
			return o.Started.Equal(a.Started) && o.Machine == a.Machine && o.PoolID == a.PoolID
		}) {
			res.Attempts++
			w.countStart(t, a)
		}
		if a.Phase == remediate.Recreated && a.NewMemberID != "" {
			if w.errs.recreated == nil {
				w.errs.recreated = map[string]bool{}
			}
			w.errs.recreated[a.NewMemberID] = true
		}
	}
	for _, e := range plan.Events {
		switch e.Reason {
		case remediate.EventExhausted:
			res.Exhausted++
		case remediate.EventSuspended:
			res.Suspended++
		}
		w.tracef(t, "gate", "%s %s: %s", e.Reason, e.Machine, e.Message)
	}
	c.rem = remediationMemory{attempts: plan.Attempts, suspended: plan.Suspended}
	return plan.RequeueAfter
}

// remediationMembers is controllers.remediationMembers on the model.
func remediationMembers(machines []*machine, t int, snap *memberwait.Snapshot) ([]remediate.Member, int) {
	cands := make([]remediate.Candidate, 0, len(machines))
	for _, m := range machines {
		cands = append(cands, remediate.Candidate{Name: m.name, Deleting: m.isDeleting(),
			Find: func(p memberwait.PoolStatus) (memberwait.MemberStatus, bool) { return memberOf(m, t, p) }})
	}
	return remediate.Members(snap, cands)
}

// checkRemediation checks one delete the planner sends against the ground
// truth: the member's Machine is not being deleted, and at most one member
// of the load balancer is in ERROR, not counting those of Machines being
// deleted.
func (w *world) checkRemediation(t int, a remediate.Action) {
	res := &w.res.Remediation
	if m := w.byNameOne(a.Machine); m != nil && m.isDeleting() {
		res.Violations = append(res.Violations, fmt.Sprintf("t=%ds: deleted member %s of %s, which is being deleted", t, a.MemberID, a.Machine))
	}
	errored := 0
	for _, mb := range w.lb.members {
		// The members of Machines being deleted do not count (see
		// pkg/gate/remediate): the gate may be what keeps them.
		if !mb.removed && mb.prov == memberwait.StatusError && !mb.m.isDeleting() {
			errored++
		}
	}
	if errored > 1 {
		res.Violations = append(res.Violations, fmt.Sprintf("t=%ds: deleted member %s of %s while %d members were in ERROR", t, a.MemberID, a.Machine, errored))
	}
}

// countStart records an attempt's start and checks that no member gets
// more than MaxAttemptsPerHour within any hour.
func (w *world) countStart(t int, a remediate.Attempt) {
	res := &w.res.Remediation
	if res.starts == nil {
		res.starts = map[string][]int{}
	}
	k := a.Machine + "/" + a.PoolID
	res.starts[k] = append(res.starts[k], t)
	n := 0
	for _, s := range res.starts[k] {
		if t-s < int(remediate.Window.Seconds()) {
			n++
		}
	}
	if n > remediate.MaxAttemptsPerHour {
		res.Violations = append(res.Violations, fmt.Sprintf("t=%ds: attempt %d on %s within an hour", t, n, k))
	}
}

// finishRemediation sorts the attempts' new members by how they ended.
func (w *world) finishRemediation() {
	res := &w.res.Remediation
	res.starts = nil
	for _, mb := range w.lb.members {
		if !w.errs.recreated[mb.id] {
			continue
		}
		switch {
		case w.errs.errored[mb.id]:
			res.Failed++
		case mb.prov != memberwait.StatusPendingCreate:
			res.Recovered++
		}
	}
}

// RemediationRow sums member remediation over the runs that asked for it
// and had a member in ERROR, against the same seeds without it.
type RemediationRow struct {
	Runs                                            int
	Attempts, Recovered, Failed, Exhausted, Suspend int
	SuspendedRuns, ExhaustedRuns                    int
	Violations                                      int
	// Completed: rollouts that completed with no person acting (no
	// manual release, no member deleted by hand), with remediation
	// (With) and without (Without); HeldForever likewise.
	CompletedWith, CompletedWithout     int
	HeldForeverWith, HeldForeverWithout int
	// PersonWith, PersonWithout: runs in which a person acted.
	PersonWith, PersonWithout int
}

// SummarizeRemediation builds the remediation row.
func SummarizeRemediation(pairs []Pair) RemediationRow {
	var r RemediationRow
	for _, p := range pairs {
		if p.Unremediated == nil {
			continue
		}
		g, u := p.Gated, *p.Unremediated
		rr := g.Remediation
		r.Runs++
		r.Attempts += rr.Attempts
		r.Recovered += rr.Recovered
		r.Failed += rr.Failed
		r.Exhausted += rr.Exhausted
		r.Suspend += rr.Suspended
		r.SuspendedRuns += b2i(rr.Suspended > 0)
		r.ExhaustedRuns += b2i(rr.Exhausted > 0)
		r.Violations += len(rr.Violations)
		r.CompletedWith += b2i(g.RolledOut && !personActed(g))
		r.CompletedWithout += b2i(u.RolledOut && !personActed(u))
		r.PersonWith += b2i(personActed(g))
		r.PersonWithout += b2i(personActed(u))
		r.HeldForeverWith += b2i(g.HeldForever)
		r.HeldForeverWithout += b2i(u.HeldForever)
	}
	return r
}

func personActed(r Result) bool { return r.ManualReleases > 0 || r.Remediation.PersonFixes > 0 }

// WriteRemediationTable writes the remediation row.
func WriteRemediationTable(out io.Writer, r RemediationRow) {
	fmt.Fprintln(out, "| runs (remediation: Recreate, a member in ERROR) | attempts | recovered (new member ACTIVE) | new member ERROR again | gave up: runs (exhausted events) | breaker: runs (suspensions) | bound violations | completed without a person: with / without remediation | a person acted: with / without | held forever: with / without |")
	fmt.Fprintln(out, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	fmt.Fprintf(out, "| %d | %d | %d | %d | %d (%d) | %d (%d) | %d | %d / %d | %d / %d | %d / %d |\n", r.Runs, r.Attempts, r.Recovered, r.Failed, r.ExhaustedRuns, r.Exhausted,
		r.SuspendedRuns, r.Suspend, r.Violations, r.CompletedWith, r.CompletedWithout, r.PersonWith, r.PersonWithout, r.HeldForeverWith, r.HeldForeverWithout)
}

// unremediated plays a seed whose policy asks for remediation and that has
// a member in ERROR once more with remediation off (nil for other seeds).
func unremediated(sc Scenario) *Result {
	if !sc.Errors.Recreate || !hasErrorMember(&sc) {
		return nil
	}
	sc.Errors.Recreate = false
	r := Run(sc, Options{Gate: true})
	return &r
}
