package controllers

import (
	"net/http"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/pkg/gate/drain"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
)

// quickReplacement scripts cp-i's member to serve soon after it is
// created.
func quickReplacement(w *world, i int) {
	w.octa.ScriptMembers(octaviatest.MemberMatch{Address: addr(i)}, octaviatest.MemberScript{
		Provisioning: []octaviatest.Step{{Status: "PENDING_CREATE"}, {After: 5 * time.Second, Status: "ACTIVE"}},
		Operating:    []octaviatest.Step{{Status: "OFFLINE"}, {After: 10 * time.Second, Status: "ONLINE"}}})
}

// rollOne replaces cp-0 with cp-3 once the three members serve.
func rollOne(w *world) {
	w.reconcile()
	w.run(2*time.Minute, func() bool { return w.condition(2) != nil && w.condition(2).Status == metav1.ConditionTrue })
	quickReplacement(w, 3)
	w.addMachine(3)
	w.addMember(3)
	w.deleteMachine(0)
}

func (w *world) weightOf(id string) (int, string) {
	m, ok := w.octa.Member(id)
	w.g.Expect(ok).To(BeTrue(), "member %s is gone", id)
	return m.Weight, m.ProvisioningStatus
}

func (w *world) setDrainPeriod(d time.Duration) {
	mg := w.memberGate()
	mg.Spec.DrainPeriod = &metav1.Duration{Duration: d}
	w.g.Expect(k8sClient.Update(w.ctx, mg)).To(Succeed())
}

// When the release rule lets the old Machine go, its member is taken out
// of rotation first: the hook goes only once Octavia shows weight 0 ACTIVE
// and the drain period has passed, and no other member is touched.
func TestDrainTakesTheOldMemberOutOfRotationBeforeTheRelease(t *testing.T) {
	w := newWorld(t, 3)
	rollOne(w)
	old := w.memberIDOf(0)

	var applied time.Time
	w.run(5*time.Minute, func() bool {
		if weight, status := w.weightOf(old); applied.IsZero() && weight == 0 && status == "ACTIVE" {
			applied = w.clk.Now()
		}
		return !w.hasHook(0)
	})
	weight, status := w.weightOf(old)
	w.g.Expect(weight).To(BeZero(), "cp-0 was released while its member still took new connections")
	w.g.Expect(status).To(Equal("ACTIVE"))
	w.g.Expect(applied).NotTo(BeZero())
	drained := w.clk.Since(applied)
	t.Logf("cp-0 released %s after its member's weight 0 was applied", drained)
	w.g.Expect(drained).To(BeNumerically(">=", v1alpha1.DefaultDrainPeriod))
	w.g.Expect(drained).To(BeNumerically("<", v1alpha1.DefaultDrainPeriod+drain.Poll+time.Second))
	for _, i := range []int{1, 2, 3} {
		weight, _ := w.weightOf(w.memberIDOf(i))
		w.g.Expect(weight).To(Equal(1), "cp-%d's member was touched", i)
	}
	ev := strings.Join(w.events(), "\n")
	w.g.Expect(ev).To(ContainSubstring(drain.EventDraining))
	w.g.Expect(ev).To(ContainSubstring(drain.EventDrained))
	w.g.Expect(ev).To(ContainSubstring("out of rotation for 30s"))
	w.g.Expect(w.memberGate().Status.Drains).To(ConsistOf(HaveField("Released", true)), "kept while cp-0 is deleted")
}

// The manager's default and the simulation's are one.
func TestDrainPeriodDefaultIsTheDrainPackages(t *testing.T) {
	NewWithT(t).Expect(v1alpha1.DefaultDrainPeriod).To(Equal(drain.DefaultPeriod))
}

// drainPeriod 0s turns draining off: the member keeps its weight.
func TestDrainPeriodZeroReleasesAtOnce(t *testing.T) {
	w := newWorld(t, 3)
	w.reconcile()
	w.setDrainPeriod(0)
	rollOne(w)
	old := w.memberIDOf(0)
	w.run(5*time.Minute, func() bool { return !w.hasHook(0) })
	weight, _ := w.weightOf(old)
	w.g.Expect(weight).To(Equal(1))
	w.g.Expect(w.countEvents(drain.EventDraining)).To(BeZero())
}

// The release rule stops holding mid-drain (another member fails): the
// old member goes back into rotation, and the Machine stays held.
func TestDrainIsUndoneWhenTheRuleHoldsAgain(t *testing.T) {
	w := newWorld(t, 3)
	rollOne(w)
	old := w.memberIDOf(0)
	w.run(5*time.Minute, func() bool { weight, _ := w.weightOf(old); return weight == 0 })
	w.g.Expect(w.hasHook(0)).To(BeTrue())
	st := w.memberGate().Status.Drains
	w.g.Expect(st).To(ConsistOf(And(HaveField("Machine", "cp-0"), HaveField("Members", ConsistOf(HaveField("Weight", BeEquivalentTo(1)))))))

	w.g.Expect(w.octa.SetMemberStatus(w.memberIDOf(1), "", "ERROR")).To(Succeed())
	w.run(time.Minute, func() bool { weight, status := w.weightOf(old); return weight == 1 && status == "ACTIVE" })
	w.g.Expect(w.hasHook(0)).To(BeTrue(), "released while cp-1 does not serve")
	w.run(time.Minute, func() bool { return len(w.memberGate().Status.Drains) == 0 })
	w.g.Expect(w.countEvents(drain.EventUndrained)).To(Equal(1))
}

// A member Octavia refuses to change holds the Machine no longer than the
// drain period, and the release says so.
func TestAMemberThatCannotBeDrainedIsReleasedAfterThePeriod(t *testing.T) {
	w := newWorld(t, 3)
	rollOne(w)
	old := w.memberIDOf(0)
	w.octa.InjectFault(octaviatest.Fault{Method: http.MethodPut, PathContains: "/members/" + old, Codes: []int{http.StatusInternalServerError}})
	start := w.clk.Now()
	var first time.Time
	w.run(5*time.Minute, func() bool {
		if first.IsZero() && len(w.memberGate().Status.Drains) > 0 {
			first = w.clk.Now()
		}
		return !w.hasHook(0)
	})
	weight, _ := w.weightOf(old)
	w.g.Expect(weight).To(Equal(1))
	w.g.Expect(first).NotTo(BeZero(), "no drain was attempted")
	t.Logf("released %s after the drain began (%s after the rollout began)", w.clk.Since(first), w.clk.Since(start))
	w.g.Expect(w.clk.Since(first)).To(BeNumerically("<", v1alpha1.DefaultDrainPeriod+drain.Poll+time.Second))
	ev := strings.Join(w.events(), "\n")
	w.g.Expect(ev).To(ContainSubstring(drain.EventDrainFailed))
	w.g.Expect(ev).To(ContainSubstring("released anyway"))
}

// A restart mid-drain carries on from the status: the drain is not begun
// again, and the release comes the drain period after weight 0 applied.
func TestDrainSurvivesARestart(t *testing.T) {
	w := newWorld(t, 3)
	rollOne(w)
	old := w.memberIDOf(0)
	w.run(5*time.Minute, func() bool { weight, status := w.weightOf(old); return weight == 0 && status == "ACTIVE" })
	w.reconcile()
	st := w.memberGate().Status.Drains
	w.g.Expect(st).To(HaveLen(1))
	w.g.Expect(st[0].AppliedAt).NotTo(BeNil())
	applied := st[0].AppliedAt.Time

	w.r = w.reconciler()
	w.clk.Step(10 * time.Second)
	w.run(time.Minute, func() bool { return !w.hasHook(0) })
	w.g.Expect(w.clk.Since(applied)).To(BeNumerically(">=", v1alpha1.DefaultDrainPeriod))
	w.g.Expect(w.clk.Since(applied)).To(BeNumerically("<", v1alpha1.DefaultDrainPeriod+drain.Poll+time.Second))
	w.g.Expect(w.countEvents(drain.EventDraining)).To(Equal(1), "the drain began again after the restart")
}
