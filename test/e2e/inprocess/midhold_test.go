package inprocess

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/memberwait"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
	"github.com/membergate/membergate/test/e2e/inprocess/harness"
)

// midHold is a rollout whose gating process dies while it holds an old
// Machine whose replacement's member is still PENDING_CREATE, and which
// another gating process (the same one started again, or a follower that
// takes over) carries on. The scenarios differ only in how the gate dies
// and comes back; what must hold before, meanwhile and after is the same.
type midHold struct {
	t   *testing.T
	g   Gomega
	ctx context.Context
	c   *harness.Cluster

	// old are the Machines before the rollout.
	old     []string
	samples *sampleLog
	rec     *harness.Recorder
	start   time.Time

	// held is the status row of the Machine held at the kill, and
	// replacement its replacement.
	held        v1alpha1.MachineMembers
	replacement string

	// What the gate had written when it died.
	killAt      time.Time
	atKill      v1alpha1.MemberGate
	rowAtKill   v1alpha1.MachineMembers
	condsAtKill map[string]*metav1.Condition
	// versions are the MemberGate's versions written after the kill.
	versions  *versionLog
	stopWatch func()
}

// startMidHold rolls the (stable) cluster out and returns once an old
// Machine is held while its replacement's member is PENDING_CREATE, as the
// gate says and as the emulator says.
func startMidHold(ctx context.Context, t *testing.T, g Gomega, c *harness.Cluster) *midHold {
	m := &midHold{t: t, g: g, ctx: ctx, c: c, samples: &sampleLog{}}
	before, err := c.WaitStable(ctx, replicas)
	g.Expect(err).NotTo(HaveOccurred())
	for _, mv := range before.Machines {
		m.old = append(m.old, mv.Name)
	}
	m.rec = c.Record(ctx, harness.Required(replicas, 1), 100*time.Millisecond, m.samples.add)
	t.Cleanup(func() { m.rec.Stop() })
	m.start = time.Now()
	// The first replacement's member stays PENDING_CREATE until the test
	// lets it through while no gate runs: the kill lands mid-hold however
	// slowly the loaded machine brings the new Machine up (with the
	// amphorav2 timings alone, KCP's deletion and the member's ACTIVE could
	// come in either order). The later replacements get the quirk.
	g.Expect(c.StartRollout(ctx, 1, harness.StuckPending())).To(Succeed())
	g.Eventually(func() bool {
		var ok bool
		m.held, m.replacement, ok = heldWhilePending(ctx, c, before.Machines)
		return ok
	}).WithContext(ctx).WithTimeout(3*time.Minute).WithPolling(100*time.Millisecond).Should(BeTrue(),
		"no hold while the replacement's member was PENDING_CREATE; last seen: %s", m.rec.Last())
	g.Expect(m.held.HeldSince).NotTo(BeNil())
	return m
}

// kill kills the gating process with kill and checks what it left: the
// hold as it was, the replacement's member last seen PENDING_CREATE (no
// settle time to its credit). Then, with no gate running, it lets that
// member through (ACTIVE and ONLINE, as an amphora's late flow and first
// heartbeat would; new members from here on behave as amphorav2) and
// starts recording the MemberGate's versions.
func (m *midHold) kill(kill func() error) {
	g, ctx, c := m.g, m.ctx, m.c
	m.killAt = time.Now()
	g.Expect(kill()).To(Succeed())
	killTook := time.Since(m.killAt)
	g.Expect(h.Client.Get(ctx, c.Key(), &m.atKill)).To(Succeed())
	var ok bool
	m.rowAtKill, ok = rowOf(&m.atKill, m.held.Name)
	g.Expect(ok).To(BeTrue())
	g.Expect(hold(m.rowAtKill)).To(Equal(hold(m.held)), "the hold changed while the gate was being killed")
	replAtKill, ok := rowOf(&m.atKill, m.replacement)
	g.Expect(ok).To(BeTrue())
	g.Expect(replAtKill.Members).To(HaveLen(1))
	g.Expect(replAtKill.Members[0].ProvisioningStatus).To(Equal(memberwait.StatusPendingCreate),
		"the gate's last word on the replacement's member must be PENDING_CREATE: no settle time to its credit")
	m.t.Logf("killed the gate %.1fs after the rollout's start (kill took %s): %s held since %s, %s's member PENDING_CREATE",
		m.killAt.Sub(m.start).Seconds(), killTook.Round(time.Millisecond), m.held.Name, m.held.HeldSince.Format(time.RFC3339), m.replacement)

	var err error
	m.versions, m.stopWatch, err = watchMemberGate(ctx, c, m.atKill.ResourceVersion)
	g.Expect(err).NotTo(HaveOccurred())
	m.t.Cleanup(m.stopWatch)

	m.condsAtKill = map[string]*metav1.Condition{}
	for _, name := range []string{m.held.Name, m.replacement} {
		cond, err := memberReadyCondition(ctx, c, name)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(cond).NotTo(BeNil(), "%s has no %s condition", name, v1alpha1.MemberReadyCondition)
		m.condsAtKill[name] = cond
	}
	g.Expect(m.condsAtKill[m.replacement].Reason).To(Equal(gate.ReasonMemberPending))

	c.Cloud.Server.ScriptMembers(octaviatest.MemberMatch{}, harness.Amphorav2(quirkPending, quirkOnline))
	replView := machineView(m.rec.Last().Machines, m.replacement)
	g.Expect(replView).NotTo(BeNil())
	g.Expect(replView.Member).NotTo(BeNil())
	g.Expect(c.Cloud.Server.SetMemberStatus(replView.Member.ID, memberwait.StatusActive, memberwait.StatusOnline)).To(Succeed())
}

// down checks what must hold while no gate runs: nobody releases the held
// Machine, writes the MemberGate or rewrites the gate's conditions on the
// Machines.
func (m *midHold) down() error {
	s := m.rec.Last()
	mv := machineView(s.Machines, m.held.Name)
	if mv == nil || !mv.Deleting || !mv.Hooked {
		return fmt.Errorf("%s lost its hook while the gate was down: %s", m.held.Name, s)
	}
	for name, want := range m.condsAtKill {
		cond, err := memberReadyCondition(m.ctx, m.c, name)
		if err != nil {
			return err
		}
		if cond == nil || !equality.Semantic.DeepEqual(*cond, *want) {
			return fmt.Errorf("%s's %s condition changed while the gate was down: %+v, was %+v", name, v1alpha1.MemberReadyCondition, cond, want)
		}
	}
	var mg v1alpha1.MemberGate
	if err := h.Client.Get(m.ctx, m.c.Key(), &mg); err != nil {
		return err
	}
	if mg.ResourceVersion != m.atKill.ResourceVersion {
		return fmt.Errorf("the MemberGate was written while the gate was down (resourceVersion %s, was %s)",
			mg.ResourceVersion, m.atKill.ResourceVersion)
	}
	return nil
}

// replacementServing reports whether the replacement's member serves, as
// the last sample saw it.
func (m *midHold) replacementServing() bool {
	mv := machineView(m.rec.Last().Machines, m.replacement)
	return mv != nil && mv.Member.Serving()
}

// resumed is what the scenarios measured after the gate came back.
type resumed struct {
	duration time.Duration
	held     harness.Timeline
	got      harness.Recording
}

// resumed checks the rest of the rollout, carried on by a gating process
// that began to reconcile at resumeAt (after), a brand-new one with nothing
// in memory: the rollout completes with the serving members never below
// the required; the held Machine is released only after that process saw
// its replacement's member serve for the settle window (release ≥ resumeAt
// + settle window), nothing else early either; its first status keeps the
// hold's row and credits no settle time from before; every status and
// condition says what it saw; no hold begins again.
func (m *midHold) resumed(resumeAt time.Time, after string) resumed {
	g, ctx, c, t := m.g, m.ctx, m.c, m.t
	held, replacement := m.held, m.replacement
	g.Expect(c.WaitRolledOut(ctx, m.old, replicas)).To(Succeed(), "the rollout did not finish; last seen: %s", m.rec.Last())
	duration := time.Since(m.start)
	_, err := c.WaitStable(ctx, replicas)
	g.Expect(err).NotTo(HaveOccurred())
	got := m.rec.Stop()
	m.stopWatch()
	logTimelines(t, got)

	// The serving members never dropped, and the sampler saw everything.
	g.Expect(got.Errors).To(BeZero(), "the sampler could not read the cluster")
	g.Expect(got.Below).To(BeZero(), "serving members dropped below %d; first at %s", got.Required, got.FirstBelow)
	g.Expect(got.MinServing).To(BeNumerically(">=", got.Required))
	g.Expect(oldMachinesReplaced(got)).To(Equal(replicas), "every old Machine is gone")

	// The Machine held at the kill was released only after the new gate
	// had seen its replacement's member serve for the settle window.
	heldTL := timeline(got, held.Name)
	g.Expect(heldTL.HookReleased).NotTo(BeZero())
	g.Expect(heldTL.HookReleased).To(BeTemporally(">=", resumeAt.Add(settleWindow)),
		"%s released %s after %s", held.Name, heldTL.HookReleased.Sub(resumeAt), after)
	for _, hd := range got.Holds() {
		g.Expect(hd.ReplacementServed).To(BeTrue(), "%s released before %s's member served", hd.Machine, hd.Replacement)
		g.Expect(hd.AfterServingMax).To(BeNumerically(">=", settleWindow),
			"%s released at most %s after %s's member began serving", hd.Machine, hd.AfterServingMax, hd.Replacement)
		s := fmt.Sprintf("%s held %.1fs, released %+.1fs after %s's member served", hd.Machine, hd.Held.Seconds(), hd.AfterServing.Seconds(), hd.Replacement)
		if hd.Machine == held.Name {
			s += fmt.Sprintf(", %.1fs after %s", heldTL.HookReleased.Sub(resumeAt).Seconds(), after)
		}
		t.Log(s)
	}

	// What the new gate wrote: the hold as it was, settle time counted
	// only from its own observations, conditions that say what it saw.
	vs := m.versions.all()
	g.Expect(m.versions.error()).NotTo(HaveOccurred())
	g.Expect(vs).NotTo(BeEmpty())
	first := vs[0].mg
	g.Expect(vs[0].at).To(BeTemporally(">=", resumeAt), "the MemberGate was written while the gate was down")
	g.Expect(first.Status.LastChecked).NotTo(BeNil())
	g.Expect(first.Status.LastChecked.Time).To(BeTemporally(">=", resumeAt.Truncate(time.Second)))
	row, ok := rowOf(first, held.Name)
	g.Expect(ok).To(BeTrue(), "the held Machine's row is gone after %s", after)
	g.Expect(hold(row)).To(Equal(hold(held)), "the hold's row changed across %s", after)
	g.Expect(settled(row)).To(Equal(settled(m.rowAtKill)), "the held Machine's own member lost its settle state across %s", after)
	repl, ok := rowOf(first, replacement)
	g.Expect(ok).To(BeTrue())
	g.Expect(repl.Members).To(HaveLen(1))
	g.Expect(repl.MemberReady).To(BeFalse(), "the replacement counted as member-ready at the first look after %s", after)
	g.Expect(repl.Reason).To(Equal(gate.ReasonMemberNotServing))
	g.Expect(repl.Members[0].ProvisioningStatus + "/" + repl.Members[0].OperatingStatus).To(Equal(memberwait.StatusActive + "/" + memberwait.StatusOnline))
	g.Expect(repl.Members[0].Since).NotTo(BeNil())
	g.Expect(repl.Members[0].Since.Time).To(BeTemporally(">=", resumeAt), "settle time credited from before %s", after)
	t.Logf("first status after %s (%.1fs after it): %s held since %s (unchanged), %s %s since %s", after,
		vs[0].at.Sub(resumeAt).Seconds(), row.Name, row.HeldSince.Format(time.RFC3339), replacement,
		repl.Members[0].OperatingStatus, repl.Members[0].Since.Format(time.RFC3339))

	releasedHold := false
	for _, v := range vs {
		mg := v.mg
		ready := meta.FindStatusCondition(mg.Status.Conditions, v1alpha1.ReadyCondition)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), "rv %s: %s", mg.ResourceVersion, ready.Message)
		anyHeld, memberReady := false, 0
		for _, r := range mg.Status.Machines {
			anyHeld = anyHeld || r.Held
			if r.MemberReady {
				memberReady++
			}
		}
		g.Expect(mg.Status.Replicas).To(HaveValue(BeEquivalentTo(len(mg.Status.Machines))), "rv %s", mg.ResourceVersion)
		g.Expect(mg.Status.MemberReadyReplicas).To(HaveValue(BeEquivalentTo(memberReady)), "rv %s", mg.ResourceVersion)
		blocking := meta.FindStatusCondition(mg.Status.Conditions, v1alpha1.BlockingCondition)
		g.Expect(blocking).NotTo(BeNil())
		g.Expect(blocking.Status == metav1.ConditionTrue).To(Equal(anyHeld), "rv %s: Blocking %s with holds %v", mg.ResourceVersion, blocking.Status, anyHeld)
		if r, ok := rowOf(mg, held.Name); ok && r.Held {
			g.Expect(releasedHold).To(BeFalse(), "rv %s: %s held again after its release", mg.ResourceVersion, held.Name)
			g.Expect(hold(r)).To(Equal(hold(held)), "rv %s: the hold's row changed after %s", mg.ResourceVersion, after)
		} else {
			releasedHold = true
		}
		if r, ok := rowOf(mg, replacement); ok && r.MemberReady {
			g.Expect(v.at).To(BeTemporally(">=", resumeAt.Add(settleWindow)),
				"rv %s: %s member-ready %s after %s", mg.ResourceVersion, replacement, v.at.Sub(resumeAt), after)
		}
	}
	g.Expect(releasedHold).To(BeTrue())
	// The Machines' condition: the replacement counted serving only after
	// the new gate's first look plus the settle window.
	if at, ok := m.samples.firstReason(replacement, gate.ReasonServing); ok {
		g.Expect(at).To(BeTemporally(">=", resumeAt.Add(settleWindow)), "%s was MemberServing %s after %s", replacement, at.Sub(resumeAt), after)
	} else {
		t.Errorf("%s never showed %s", replacement, gate.ReasonServing)
	}
	// The new gate carried the hold on rather than beginning another (no
	// RolloutHeld event), and said when it let go. No hold began twice
	// anywhere in the rollout (a cached MemberGate older than the gate's own
	// last write once made that happen; the gate reads it uncached now).
	g.Expect(eventsSince(ctx, c.Namespace, held.Name, gate.EventHeld, resumeAt)).To(BeZero(),
		"the gate began %s's hold again after %s", held.Name, after)
	for _, name := range m.old {
		g.Expect(eventsSince(ctx, c.Namespace, name, gate.EventHeld, m.start)).To(BeNumerically("<=", 1), "%s's hold began more than once", name)
	}
	g.Expect(eventsSince(ctx, c.Namespace, held.Name, gate.EventHeld, m.start)).To(Equal(1))
	g.Eventually(func() int { return eventsSince(ctx, c.Namespace, held.Name, gate.EventReleased, resumeAt) }).WithContext(ctx).
		WithTimeout(10*time.Second).Should(BeNumerically(">=", 1), "no %s event from the gate after %s", gate.EventReleased, after)

	// The end state: every Machine member-ready, nothing held.
	var end v1alpha1.MemberGate
	g.Expect(h.Client.Get(ctx, c.Key(), &end)).To(Succeed())
	g.Expect(meta.IsStatusConditionTrue(end.Status.Conditions, v1alpha1.ReadyCondition)).To(BeTrue())
	g.Expect(meta.IsStatusConditionFalse(end.Status.Conditions, v1alpha1.BlockingCondition)).To(BeTrue())
	g.Expect(end.Status.Machines).To(HaveLen(replicas))
	for _, r := range end.Status.Machines {
		g.Expect(r.MemberReady).To(BeTrue(), "%s: %s", r.Name, r.Reason)
		g.Expect(r.Held).To(BeFalse())
	}
	for _, mv := range m.rec.Last().Machines {
		g.Expect(mv.GateReason).To(Equal(gate.ReasonServing), "%s", mv.Name)
	}
	return resumed{duration: duration, held: heldTL, got: got}
}
