package inprocess

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/memberwait"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
	"github.com/membergate/membergate/test/e2e/inprocess/harness"
)

// minDown is the least time the gate stays down: longer than memberwait's
// longest gap between two observations over which a settle window may run
// on (15 s: one and a half times the backoff's 10 s cap), so that the
// restarted gate must start the replacement's settle window again.
const minDown = 20 * time.Second

// The gate's manager is killed while it holds an old Machine whose
// replacement's member is still PENDING_CREATE, stays down until that member
// serves, and starts again (a brand-new manager and reconciler, as a new
// pod): nothing is released while it is down or early after it, the hold's
// row in the MemberGate status survives, no status or condition claims
// more than was observed, and the rollout completes without ever losing a
// serving member.
func TestGateKilledAndRestartedMidHold(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	gp, err := h.StartGate("restart")
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = gp.Kill() })
	c, err := h.CreateCluster(ctx, harness.ClusterSpec{Namespace: "gate-restart", Name: "cp", Replicas: replicas,
		SettleWindow: settleWindow, Gate: gp.Name})
	g.Expect(err).NotTo(HaveOccurred())
	before, err := c.WaitStable(ctx, replicas)
	g.Expect(err).NotTo(HaveOccurred())
	var old []string
	for _, m := range before.Machines {
		old = append(old, m.Name)
	}

	var samples sampleLog
	rec := c.Record(ctx, harness.Required(replicas, 1), 100*time.Millisecond, samples.add)
	defer rec.Stop()
	start := time.Now()
	// The first replacement's member stays PENDING_CREATE until the test
	// lets it through while the gate is down: the kill lands mid-hold
	// however slowly the loaded machine brings the new Machine up (with the
	// amphorav2 timings alone, KCP's deletion and the member's ACTIVE could
	// come in either order). The later replacements get the quirk.
	g.Expect(c.StartRollout(ctx, 1, harness.StuckPending())).To(Succeed())

	// An old Machine held, its replacement's member PENDING_CREATE, as the
	// gate says and as the emulator says.
	var held v1alpha1.MachineMembers
	var replacement string
	g.Eventually(func() bool {
		var ok bool
		held, replacement, ok = heldWhilePending(ctx, c, before.Machines)
		return ok
	}).WithContext(ctx).WithTimeout(3*time.Minute).WithPolling(100*time.Millisecond).Should(BeTrue(),
		"no hold while the replacement's member was PENDING_CREATE; last seen: %s", rec.Last())
	g.Expect(held.HeldSince).NotTo(BeNil())

	// Kill the gate.
	killAt := time.Now()
	g.Expect(gp.Kill()).To(Succeed())
	killTook := time.Since(killAt)
	var atKill v1alpha1.MemberGate
	g.Expect(h.Client.Get(ctx, c.Key(), &atKill)).To(Succeed())
	rowAtKill, ok := rowOf(&atKill, held.Name)
	g.Expect(ok).To(BeTrue())
	g.Expect(hold(rowAtKill)).To(Equal(hold(held)), "the hold changed while the gate was being killed")
	replAtKill, ok := rowOf(&atKill, replacement)
	g.Expect(ok).To(BeTrue())
	g.Expect(replAtKill.Members).To(HaveLen(1))
	g.Expect(replAtKill.Members[0].ProvisioningStatus).To(Equal(memberwait.StatusPendingCreate),
		"the gate's last word on the replacement's member must be PENDING_CREATE: no settle time to its credit")
	t.Logf("killed the gate %.1fs after the rollout's start (kill took %s): %s held since %s, %s's member PENDING_CREATE",
		killAt.Sub(start).Seconds(), killTook.Round(time.Millisecond), held.Name, held.HeldSince.Format(time.RFC3339), replacement)

	// Every MemberGate version written from now on, in order.
	versions, stopWatch, err := watchMemberGate(ctx, c, atKill.ResourceVersion)
	g.Expect(err).NotTo(HaveOccurred())
	defer stopWatch()

	// While the gate is down nobody releases the held Machine, writes the
	// MemberGate or rewrites the gate's conditions on the Machines — until
	// the replacement's member serves, and for minDown at least.
	condsAtKill := map[string]*metav1.Condition{}
	for _, name := range []string{held.Name, replacement} {
		cond, err := memberReadyCondition(ctx, c, name)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(cond).NotTo(BeNil(), "%s has no %s condition", name, v1alpha1.MemberReadyCondition)
		condsAtKill[name] = cond
	}
	g.Expect(condsAtKill[replacement].Reason).To(Equal(gate.ReasonMemberPending))

	// While the gate is down the stuck member comes through and serves, as
	// an amphora's late flow and first heartbeat would; new members from
	// here on behave as amphorav2.
	c.Cloud.Server.ScriptMembers(octaviatest.MemberMatch{}, harness.Amphorav2(quirkPending, quirkOnline))
	replView := machineView(rec.Last().Machines, replacement)
	g.Expect(replView).NotTo(BeNil())
	g.Expect(replView.Member).NotTo(BeNil())
	g.Expect(c.Cloud.Server.SetMemberStatus(replView.Member.ID, memberwait.StatusActive, memberwait.StatusOnline)).To(Succeed())
	down := func() error {
		s := rec.Last()
		m := machineView(s.Machines, held.Name)
		if m == nil || !m.Deleting || !m.Hooked {
			return fmt.Errorf("%s lost its hook while the gate was down: %s", held.Name, s)
		}
		for name, want := range condsAtKill {
			cond, err := memberReadyCondition(ctx, c, name)
			if err != nil {
				return err
			}
			if cond == nil || !equality.Semantic.DeepEqual(*cond, *want) {
				return fmt.Errorf("%s's %s condition changed while the gate was down: %+v, was %+v", name, v1alpha1.MemberReadyCondition, cond, want)
			}
		}
		var mg v1alpha1.MemberGate
		if err := h.Client.Get(ctx, c.Key(), &mg); err != nil {
			return err
		}
		if mg.ResourceVersion != atKill.ResourceVersion {
			return fmt.Errorf("the MemberGate was written while the gate was down (resourceVersion %s, was %s)",
				mg.ResourceVersion, atKill.ResourceVersion)
		}
		return nil
	}
	g.Consistently(down).WithContext(ctx).WithTimeout(time.Until(killAt.Add(minDown))).WithPolling(250 * time.Millisecond).
		Should(Succeed())
	g.Eventually(func() (bool, error) {
		if err := down(); err != nil {
			return false, StopTrying(err.Error())
		}
		m := machineView(rec.Last().Machines, replacement)
		return m != nil && m.Member.Serving(), nil
	}).WithContext(ctx).WithTimeout(time.Minute).WithPolling(250*time.Millisecond).Should(BeTrue(),
		"%s's member did not serve", replacement)
	g.Expect(versions.all()).To(BeEmpty(), "the MemberGate was written while the gate was down")

	// Start it again.
	restartAt := time.Now()
	downFor := restartAt.Sub(killAt)
	g.Expect(gp.Start()).To(Succeed())
	synced := time.Since(restartAt)
	t.Logf("restarted the gate after %.1fs down (%s's member serving for %.1fs); Start took %s", downFor.Seconds(), replacement,
		restartAt.Sub(timeline(rec.Recording(), replacement).MemberServing).Seconds(), synced.Round(time.Millisecond))

	g.Expect(c.WaitRolledOut(ctx, old, replicas)).To(Succeed(), "the rollout did not finish; last seen: %s", rec.Last())
	duration := time.Since(start)
	_, err = c.WaitStable(ctx, replicas)
	g.Expect(err).NotTo(HaveOccurred())
	got := rec.Stop()
	stopWatch()
	logTimelines(t, got)

	// The serving members never dropped, and the sampler saw everything.
	g.Expect(got.Errors).To(BeZero(), "the sampler could not read the cluster")
	g.Expect(got.Below).To(BeZero(), "serving members dropped below %d; first at %s", got.Required, got.FirstBelow)
	g.Expect(got.MinServing).To(BeNumerically(">=", got.Required))
	g.Expect(oldMachinesReplaced(got)).To(Equal(replicas), "every old Machine is gone")

	// The Machine held at the kill was released only after the restarted
	// gate had seen its replacement's member serve for the settle window.
	heldTL := timeline(got, held.Name)
	g.Expect(heldTL.HookReleased).NotTo(BeZero())
	g.Expect(heldTL.HookReleased).To(BeTemporally(">=", restartAt.Add(settleWindow)),
		"%s released %s after the restart", held.Name, heldTL.HookReleased.Sub(restartAt))
	for _, hd := range got.Holds() {
		g.Expect(hd.ReplacementServed).To(BeTrue(), "%s released before %s's member served", hd.Machine, hd.Replacement)
		g.Expect(hd.AfterServingMax).To(BeNumerically(">=", settleWindow),
			"%s released at most %s after %s's member began serving", hd.Machine, hd.AfterServingMax, hd.Replacement)
		s := fmt.Sprintf("%s held %.1fs, released %+.1fs after %s's member served", hd.Machine, hd.Held.Seconds(), hd.AfterServing.Seconds(), hd.Replacement)
		if hd.Machine == held.Name {
			s += fmt.Sprintf(", %.1fs after the restart", heldTL.HookReleased.Sub(restartAt).Seconds())
		}
		t.Log(s)
	}

	// What the restarted gate wrote: the hold as it was, settle time
	// counted only from its own observations, conditions that say what it
	// saw.
	vs := versions.all()
	g.Expect(versions.error()).NotTo(HaveOccurred())
	g.Expect(vs).NotTo(BeEmpty())
	first := vs[0].mg
	g.Expect(vs[0].at).To(BeTemporally(">=", restartAt), "the MemberGate was written while the gate was down")
	g.Expect(first.Status.LastChecked).NotTo(BeNil())
	g.Expect(first.Status.LastChecked.Time).To(BeTemporally(">=", restartAt.Truncate(time.Second)))
	row, ok := rowOf(first, held.Name)
	g.Expect(ok).To(BeTrue(), "the held Machine's row is gone after the restart")
	g.Expect(hold(row)).To(Equal(hold(held)), "the hold's row changed across the restart")
	g.Expect(settled(row)).To(Equal(settled(rowAtKill)), "the held Machine's own member lost its settle state across the restart")
	repl, ok := rowOf(first, replacement)
	g.Expect(ok).To(BeTrue())
	g.Expect(repl.Members).To(HaveLen(1))
	g.Expect(repl.MemberReady).To(BeFalse(), "the replacement counted as member-ready at the restart's first look")
	g.Expect(repl.Reason).To(Equal(gate.ReasonMemberNotServing))
	g.Expect(repl.Members[0].ProvisioningStatus + "/" + repl.Members[0].OperatingStatus).To(Equal(memberwait.StatusActive + "/" + memberwait.StatusOnline))
	g.Expect(repl.Members[0].Since).NotTo(BeNil())
	g.Expect(repl.Members[0].Since.Time).To(BeTemporally(">=", restartAt), "settle time credited from before the restart")
	t.Logf("first status after the restart (%.1fs after it): %s held since %s (unchanged), %s %s since %s",
		vs[0].at.Sub(restartAt).Seconds(), row.Name, row.HeldSince.Format(time.RFC3339), replacement,
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
			g.Expect(hold(r)).To(Equal(hold(held)), "rv %s: the hold's row changed after the restart", mg.ResourceVersion)
		} else {
			releasedHold = true
		}
		if r, ok := rowOf(mg, replacement); ok && r.MemberReady {
			g.Expect(v.at).To(BeTemporally(">=", restartAt.Add(settleWindow)),
				"rv %s: %s member-ready %s after the restart", mg.ResourceVersion, replacement, v.at.Sub(restartAt))
		}
	}
	g.Expect(releasedHold).To(BeTrue())
	// The Machines' condition: the replacement counted serving only after
	// the restart plus the settle window.
	if at, ok := samples.firstReason(replacement, gate.ReasonServing); ok {
		g.Expect(at).To(BeTemporally(">=", restartAt.Add(settleWindow)), "%s was MemberServing %s after the restart", replacement, at.Sub(restartAt))
	} else {
		t.Errorf("%s never showed %s", replacement, gate.ReasonServing)
	}
	// The restarted gate carried the hold on rather than beginning another
	// (no RolloutHeld event), and said when it let go. No hold began twice
	// anywhere in the rollout (a cached MemberGate older than the gate's own
	// last write once made that happen; the gate reads it uncached now).
	g.Expect(eventsSince(ctx, c.Namespace, held.Name, gate.EventHeld, restartAt)).To(BeZero(),
		"the restarted gate began %s's hold again", held.Name)
	for _, name := range old {
		g.Expect(eventsSince(ctx, c.Namespace, name, gate.EventHeld, start)).To(BeNumerically("<=", 1), "%s's hold began more than once", name)
	}
	g.Expect(eventsSince(ctx, c.Namespace, held.Name, gate.EventHeld, start)).To(Equal(1))
	g.Eventually(func() int { return eventsSince(ctx, c.Namespace, held.Name, gate.EventReleased, restartAt) }).WithContext(ctx).
		WithTimeout(10*time.Second).Should(BeNumerically(">=", 1), "no %s event from the restarted gate", gate.EventReleased)

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
	for _, m := range rec.Last().Machines {
		g.Expect(m.GateReason).To(Equal(gate.ReasonServing), "%s", m.Name)
	}

	t.Logf("rolled out in %s; killed at +%.1fs, down %.1fs, restart → release of %s %.1fs (settle window %s); "+
		"%s held %.1fs in all; fewest serving members %d (required %d)",
		duration.Round(time.Second), killAt.Sub(start).Seconds(), downFor.Seconds(), held.Name,
		heldTL.HookReleased.Sub(restartAt).Seconds(), settleWindow, held.Name,
		heldTL.HookReleased.Sub(heldTL.DeletionSeen).Seconds(), got.MinServing, got.Required)
}

// heldWhilePending finds an old Machine held while its replacement's member
// is PENDING_CREATE, as the gate's status says and as the emulator says.
func heldWhilePending(ctx context.Context, c *harness.Cluster, old []harness.MachineView) (v1alpha1.MachineMembers, string, bool) {
	var mg v1alpha1.MemberGate
	if err := h.Client.Get(ctx, c.Key(), &mg); err != nil {
		return v1alpha1.MachineMembers{}, "", false
	}
	s, err := c.Snapshot(ctx)
	if err != nil {
		return v1alpha1.MachineMembers{}, "", false
	}
	var repl *harness.MachineView
	for i, m := range s.Machines {
		if machineView(old, m.Name) == nil {
			repl = &s.Machines[i]
		}
	}
	row, ok := heldRow(&mg)
	if !ok || repl == nil || repl.Member == nil || repl.Member.Provisioning != memberwait.StatusPendingCreate {
		return v1alpha1.MachineMembers{}, "", false
	}
	r, ok := rowOf(&mg, repl.Name)
	if !ok || len(r.Members) != 1 || r.Members[0].ProvisioningStatus != memberwait.StatusPendingCreate {
		return v1alpha1.MachineMembers{}, "", false
	}
	return row, repl.Name, true
}

// holdState is what a status row says about a hold.
type holdState struct {
	Name              string
	Deleting, Held    bool
	HeldSince         time.Time
	Alerted           bool
	HeldSinceRecorded bool
}

func hold(r v1alpha1.MachineMembers) holdState {
	s := holdState{Name: r.Name, Deleting: r.Deleting, Held: r.Held, Alerted: r.Alerted, HeldSinceRecorded: r.HeldSince != nil}
	if r.HeldSince != nil {
		s.HeldSince = r.HeldSince.Time
	}
	return s
}

// settled is a row's members without what each observation refreshes
// (when it was seen, and the message, which may say for how long).
func settled(r v1alpha1.MachineMembers) []v1alpha1.Member {
	out := make([]v1alpha1.Member, 0, len(r.Members))
	for _, m := range r.Members {
		m.LastSeen, m.Message = nil, ""
		out = append(out, m)
	}
	return out
}

func heldRow(mg *v1alpha1.MemberGate) (v1alpha1.MachineMembers, bool) {
	for _, row := range mg.Status.Machines {
		if row.Held {
			return row, true
		}
	}
	return v1alpha1.MachineMembers{}, false
}

func rowOf(mg *v1alpha1.MemberGate, name string) (v1alpha1.MachineMembers, bool) {
	for _, row := range mg.Status.Machines {
		if row.Name == name {
			return row, true
		}
	}
	return v1alpha1.MachineMembers{}, false
}

// memberReadyCondition reads a Machine's LoadBalancerMemberReady condition
// from the API server.
func memberReadyCondition(ctx context.Context, c *harness.Cluster, machine string) (*metav1.Condition, error) {
	var m clusterv1.Machine
	if err := h.Client.Get(ctx, types.NamespacedName{Namespace: c.Namespace, Name: machine}, &m); err != nil {
		return nil, err
	}
	return meta.FindStatusCondition(m.Status.Conditions, v1alpha1.MemberReadyCondition), nil
}

// machineView finds a Machine by name; nil when it is not among machines.
func machineView(machines []harness.MachineView, name string) *harness.MachineView {
	for i := range machines {
		if machines[i].Name == name {
			return &machines[i]
		}
	}
	return nil
}

func timeline(rec harness.Recording, name string) harness.Timeline {
	for _, m := range rec.Machines {
		if m.Name == name {
			return m
		}
	}
	return harness.Timeline{Name: name}
}

// sampleLog keeps every sample the recorder takes.
type sampleLog struct {
	mu   sync.Mutex
	list []harness.Snapshot
}

func (l *sampleLog) add(s harness.Snapshot) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = append(l.list, s)
}

// firstReason is the first sample that showed the Machine with the gate's
// condition reason.
func (l *sampleLog) firstReason(machine, reason string) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.list {
		if m := machineView(s.Machines, machine); m != nil && m.GateReason == reason {
			return s.At, true
		}
	}
	return time.Time{}, false
}

// memberGateVersion is one MemberGate version a watch delivered, and when.
type memberGateVersion struct {
	at time.Time
	mg *v1alpha1.MemberGate
}

type versionLog struct {
	mu   sync.Mutex
	list []memberGateVersion
	// err is what the watch reported before it was stopped (stopping
	// closes the stream, which it reports too).
	err     error
	stopped bool
}

func (l *versionLog) all() []memberGateVersion {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]memberGateVersion(nil), l.list...)
}

func (l *versionLog) error() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// watchMemberGate collects every version of the cluster's MemberGate
// written after resourceVersion rv, until stop.
func watchMemberGate(ctx context.Context, c *harness.Cluster, rv string) (*versionLog, func(), error) {
	wc, err := client.NewWithWatch(h.Config, client.Options{Scheme: h.Client.Scheme()})
	if err != nil {
		return nil, nil, err
	}
	w, err := wc.Watch(ctx, &v1alpha1.MemberGateList{}, &client.ListOptions{Namespace: c.Namespace,
		Raw: &metav1.ListOptions{ResourceVersion: rv}})
	if err != nil {
		return nil, nil, err
	}
	l := &versionLog{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			l.mu.Lock()
			switch ev.Type {
			case watch.Added, watch.Modified:
				if mg, ok := ev.Object.(*v1alpha1.MemberGate); ok && mg.Name == c.Name {
					l.list = append(l.list, memberGateVersion{at: time.Now(), mg: mg})
				}
			case watch.Error:
				if !l.stopped {
					l.err = errors.Join(l.err, fmt.Errorf("watch: %v", ev.Object))
				}
			}
			l.mu.Unlock()
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if !l.stopped {
			l.err = errors.Join(l.err, errors.New("the watch ended before it was stopped: versions may be missing"))
		}
	}()
	var once sync.Once
	return l, func() {
		once.Do(func() {
			l.mu.Lock()
			l.stopped = true
			l.mu.Unlock()
			w.Stop()
			<-done
		})
	}, nil
}

// eventsSince counts the events of a reason about an object emitted at or
// after since, a series counting as many as it says.
func eventsSince(ctx context.Context, namespace, name, reason string, since time.Time) int {
	var list eventsv1.EventList
	if err := h.Client.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return -1
	}
	n := 0
	for _, e := range list.Items {
		if e.Reason != reason || e.Regarding.Name != name || e.EventTime.Time.Before(since) {
			continue
		}
		if e.Series != nil && e.Series.Count > 1 {
			n += int(e.Series.Count)
		} else {
			n++
		}
	}
	return n
}
