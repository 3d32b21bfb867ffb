package drain

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/membergate/membergate/pkg/gate"
)

var t0 = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

// released is the gate's decision when the release rule lets cp-old go.
func released() gate.Decision {
	return gate.Decision{
		Release:  []gate.Release{{Machine: "cp-old", Reason: "2 other control-plane Machine(s) serve: cp-a, cp-b", Rule: true}},
		Machines: []gate.MachineStatus{{Name: "cp-old", MemberReady: true, Reason: gate.ReasonServing, Message: "pool p: member m1"}},
		Events:   []gate.Event{{Machine: "cp-old", Reason: gate.EventReleased, Message: "released the pre-drain hook: 2 other control-plane Machine(s) serve: cp-a, cp-b"}},
	}
}

// held is the gate's decision when the release rule holds cp-old.
func held() gate.Decision {
	return gate.Decision{Blocking: true,
		Machines: []gate.MachineStatus{{Name: "cp-old", MemberReady: true, Reason: gate.ReasonServing, Held: true, HeldSince: t0}}}
}

func old(members ...Member) Machine {
	return Machine{Name: "cp-old", Deleting: true, HasHook: true, HeldSince: t0.Add(-time.Minute), Members: members}
}

func member(weight int, status string) Member {
	return Member{PoolID: "p", ID: "m1", Weight: weight, Known: true, ProvisioningStatus: status}
}

// run feeds each call the previous plan's drains, as the controller does.
type run struct {
	now    time.Time
	period time.Duration
	prev   Plan
}

func (r *run) decide(d gate.Decision, ms ...Machine) Plan {
	r.prev = Decide(Input{Now: r.now, Period: r.period, Decision: d, Machines: ms, Drains: r.prev.Drains})
	return r.prev
}

func reasons(p Plan) []string {
	var out []string
	for _, e := range p.Decision.Events {
		out = append(out, e.Reason)
	}
	return out
}

// The whole drain: weight 0 sent, applied, the period waited, released.
func TestDrainHoldsUntilAppliedAndThePeriodPassed(t *testing.T) {
	g := NewWithT(t)
	r := &run{now: t0, period: 30 * time.Second}

	p := r.decide(released(), old(member(3, "ACTIVE")))
	g.Expect(p.Decision.Release).To(BeEmpty(), "held for the drain")
	g.Expect(p.Decision.Blocking).To(BeTrue())
	g.Expect(p.SetWeight).To(Equal([]Action{{Machine: "cp-old", PoolID: "p", MemberID: "m1", Weight: 0}}))
	g.Expect(reasons(p)).To(Equal([]string{EventDraining}), "the release event waits for the release")
	g.Expect(p.Decision.Machines[0].Held).To(BeTrue())
	g.Expect(p.Decision.Machines[0].HeldSince).To(Equal(t0.Add(-time.Minute)), "the hold goes on, not a new one")
	g.Expect(p.Decision.Machines[0].Message).To(ContainSubstring("draining its members"))
	g.Expect(p.RequeueAfter).To(Equal(Poll))
	g.Expect(p.Drains).To(HaveLen(1))
	g.Expect(p.Drains[0].Members).To(Equal([]MemberState{{PoolID: "p", ID: "m1", Weight: 3}}))

	r.now = t0.Add(2 * time.Second)
	p = r.decide(released(), old(member(0, "PENDING_UPDATE")))
	g.Expect(p.SetWeight).To(BeEmpty(), "Octavia is applying it")
	g.Expect(p.Decision.Release).To(BeEmpty())

	r.now = t0.Add(4 * time.Second)
	p = r.decide(released(), old(member(0, "ACTIVE")))
	g.Expect(reasons(p)).To(Equal([]string{EventDrained}))
	g.Expect(p.Drained).To(Equal([]string{"cp-old"}))
	g.Expect(p.Decision.Release).To(BeEmpty())
	g.Expect(p.RequeueAfter).To(Equal(30 * time.Second))

	r.now = t0.Add(33 * time.Second)
	p = r.decide(released(), old(member(0, "ACTIVE")))
	g.Expect(p.Decision.Release).To(BeEmpty(), "1 s of the period is left")
	g.Expect(p.RequeueAfter).To(Equal(time.Second))

	r.now = t0.Add(34 * time.Second)
	p = r.decide(released(), old(member(0, "ACTIVE")))
	g.Expect(p.Decision.Release).To(HaveLen(1))
	g.Expect(p.Decision.Release[0].Reason).To(ContainSubstring("out of rotation for 30s"))
	g.Expect(reasons(p)).To(Equal([]string{gate.EventReleased}))
	g.Expect(p.Decision.Events[0].Message).To(ContainSubstring("out of rotation for 30s"))
	g.Expect(p.Drains).To(ConsistOf(HaveField("Released", true)), "kept while the Machine is deleted")

	// Released, hookless and deleting: its members stay at weight 0, and
	// nothing is held.
	gone := old(member(0, "ACTIVE"))
	gone.HasHook = false
	r.now = t0.Add(40 * time.Second)
	p = r.decide(gate.Decision{}, gone)
	g.Expect(p.SetWeight).To(BeEmpty())
	g.Expect(p.Decision.Blocking).To(BeFalse())
	g.Expect(p.Drains).To(HaveLen(1))
	r.now = t0.Add(45 * time.Second)
	p = r.decide(gate.Decision{})
	g.Expect(p.Drains).To(BeEmpty(), "forgotten once the Machine is gone")
}

// Releases other than the release rule's, a period of 0, and a Machine
// with nothing left in rotation go at once.
func TestWhatDoesNotWaitForADrain(t *testing.T) {
	g := NewWithT(t)
	manual := released()
	manual.Release[0].Rule, manual.Release[0].Manual = false, true
	p := Decide(Input{Now: t0, Period: time.Minute, Decision: manual, Machines: []Machine{old(member(1, "ACTIVE"))}})
	g.Expect(p.Decision.Release).To(Equal(manual.Release))
	g.Expect(p.SetWeight).To(BeEmpty())

	p = Decide(Input{Now: t0, Decision: released(), Machines: []Machine{old(member(1, "ACTIVE"))}})
	g.Expect(p.Decision.Release).To(HaveLen(1), "period 0: draining is off")
	g.Expect(p.SetWeight).To(BeEmpty())
	g.Expect(Needs(0, released(), nil)).To(BeEmpty(), "nothing to read when draining is off")

	p = Decide(Input{Now: t0, Period: time.Minute, Decision: released(), Machines: []Machine{old()}})
	g.Expect(p.Decision.Release).To(HaveLen(1), "no member left in rotation")
	g.Expect(p.Drains).To(ConsistOf(HaveField("Released", true)))
}

// A member CAPO creates for a Machine already released (its member was
// missing at the release: being re-created) is taken out of rotation too.
func TestAMemberThatAppearsAfterTheReleaseIsDrained(t *testing.T) {
	g := NewWithT(t)
	r := &run{now: t0, period: 30 * time.Second}
	p := r.decide(released(), old())
	g.Expect(p.Decision.Release).To(HaveLen(1))

	back := old(Member{PoolID: "p", ID: "m9", Weight: 1, Known: true, ProvisioningStatus: "ACTIVE"})
	back.HasHook = false
	r.now = t0.Add(5 * time.Second)
	p = r.decide(gate.Decision{}, back)
	g.Expect(p.SetWeight).To(Equal([]Action{{Machine: "cp-old", PoolID: "p", MemberID: "m9", Weight: 0}}))
	g.Expect(reasons(p)).To(Equal([]string{EventDraining}))
	g.Expect(p.Decision.Blocking).To(BeFalse(), "nothing is held after the release")
}

// The release rule stops holding mid-drain: the weight goes back to what
// it was, and the drain starts over when the rule lets the Machine go
// again.
func TestRestoresTheWeightWhenTheRuleHoldsAgain(t *testing.T) {
	g := NewWithT(t)
	r := &run{now: t0, period: 30 * time.Second}
	r.decide(released(), old(member(5, "ACTIVE")))
	r.now = t0.Add(5 * time.Second)
	r.decide(released(), old(member(0, "ACTIVE")))

	r.now = t0.Add(10 * time.Second)
	p := r.decide(held(), old(member(0, "ACTIVE")))
	g.Expect(p.SetWeight).To(Equal([]Action{{Machine: "cp-old", PoolID: "p", MemberID: "m1", Weight: 5}}))
	g.Expect(reasons(p)).To(Equal([]string{EventUndrained}))
	g.Expect(p.Decision.Release).To(BeEmpty())
	g.Expect(p.Drains).To(HaveLen(1))
	g.Expect(p.Drains[0].Restoring).To(BeTrue())

	r.now = t0.Add(15 * time.Second)
	p = r.decide(held(), old(member(0, "PENDING_UPDATE")))
	g.Expect(p.SetWeight).To(BeEmpty())

	r.now = t0.Add(20 * time.Second)
	p = r.decide(held(), old(member(5, "ACTIVE")))
	g.Expect(p.Drains).To(BeEmpty(), "back in rotation")
	g.Expect(p.Undrained).To(Equal([]string{"cp-old"}))

	r.now = t0.Add(40 * time.Second)
	p = r.decide(released(), old(member(5, "ACTIVE")))
	g.Expect(p.Decision.Release).To(BeEmpty(), "a new drain, with a new period")
	g.Expect(p.Drains[0].Started).To(Equal(t0.Add(40 * time.Second)))
}

// A member Octavia will not drain holds the Machine no longer than the
// drain period; the change is sent again meanwhile.
func TestAMemberThatCannotBeDrainedIsReleasedWithAWarning(t *testing.T) {
	g := NewWithT(t)
	r := &run{now: t0, period: 30 * time.Second}
	p := r.decide(released(), old(member(1, "ERROR")))
	g.Expect(p.SetWeight).To(HaveLen(1))

	r.now = t0.Add(5 * time.Second)
	p = r.decide(released(), old(member(1, "ERROR")))
	g.Expect(p.SetWeight).To(BeEmpty(), "sent 5 s ago")

	r.now = t0.Add(10 * time.Second)
	p = r.decide(released(), old(member(1, "ERROR")))
	g.Expect(p.SetWeight).To(HaveLen(1), "sent again after RetryInterval")

	for _, at := range []time.Duration{15 * time.Second, 20 * time.Second, 25 * time.Second, 29 * time.Second} {
		r.now = t0.Add(at)
		p = r.decide(released(), old(member(1, "ERROR")))
	}
	g.Expect(p.Decision.Release).To(BeEmpty())
	g.Expect(p.RequeueAfter).To(Equal(time.Second))

	r.now = t0.Add(30 * time.Second)
	p = r.decide(released(), old(member(1, "ERROR")))
	g.Expect(p.Decision.Release).To(HaveLen(1))
	g.Expect(p.Failed).To(Equal([]string{"cp-old"}))
	g.Expect(reasons(p)).To(ConsistOf(gate.EventReleased, EventDrainFailed))
	for _, e := range p.Decision.Events {
		if e.Reason == EventDrainFailed {
			g.Expect(e.Warning).To(BeTrue())
			g.Expect(e.Message).To(ContainSubstring("m1 weight 1 ERROR"))
		}
	}
	g.Expect(p.Drains).To(ConsistOf(HaveField("Released", true)), "still tried after the release")
}

// A drain whose Machine is gone or was released otherwise is forgotten.
func TestForgetsDrainsOfMachinesGone(t *testing.T) {
	g := NewWithT(t)
	r := &run{now: t0, period: 30 * time.Second}
	r.decide(released(), old(member(1, "ACTIVE")))
	g.Expect(Needs(30*time.Second, gate.Decision{}, r.prev.Drains)).To(Equal([]string{"cp-old"}))
	r.now = t0.Add(5 * time.Second)
	p := r.decide(gate.Decision{})
	g.Expect(p.Drains).To(BeEmpty())
	g.Expect(p.SetWeight).To(BeEmpty())
}

// The gate away mid-drain (a restart, a leader change) longer than the
// drain period: the time it was away does not count, so the change is
// sent again rather than the Machine released undrained at once.
func TestTheGatesAbsenceDoesNotCountTowardsTheDrainPeriod(t *testing.T) {
	g := NewWithT(t)
	r := &run{now: t0, period: 30 * time.Second}
	two := old(member(1, "ACTIVE"), Member{PoolID: "q", ID: "m2", Weight: 1, Known: true, ProvisioningStatus: "ACTIVE"})
	r.decide(released(), two)

	r.now = t0.Add(2 * time.Minute)
	p := r.decide(released(), old(member(0, "ACTIVE"), Member{PoolID: "q", ID: "m2", Weight: 1, Known: true, ProvisioningStatus: "ACTIVE"}))
	g.Expect(p.Decision.Release).To(BeEmpty(), "released undrained after an absence")
	g.Expect(p.Failed).To(BeEmpty())
	g.Expect(p.SetWeight).To(Equal([]Action{{Machine: "cp-old", PoolID: "q", MemberID: "m2", Weight: 0}}))

	// Present from now on: the period runs out after what was left of it.
	r.now = r.now.Add(Poll)
	r.decide(released(), old(member(0, "ACTIVE"), Member{PoolID: "q", ID: "m2", Weight: 1, Known: true, ProvisioningStatus: "ERROR"}))
	for range 6 {
		r.now = r.now.Add(Poll)
		p = r.decide(released(), old(member(0, "ACTIVE"), Member{PoolID: "q", ID: "m2", Weight: 1, Known: true, ProvisioningStatus: "ERROR"}))
		if len(p.Decision.Release) > 0 {
			break
		}
	}
	g.Expect(p.Failed).To(Equal([]string{"cp-old"}), "never released: %v", p.Decision.Machines)
	g.Expect(r.now.Sub(t0.Add(2 * time.Minute))).To(BeNumerically("<=", 30*time.Second))
}
