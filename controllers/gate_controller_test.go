package controllers

import (
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	infrav1 "sigs.k8s.io/cluster-api-provider-openstack/api/v1beta1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/gate/drain"
	"github.com/membergate/membergate/pkg/memberwait"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
)

func amphorav2(w *world, i int) {
	w.octa.ScriptMembers(octaviatest.MemberMatch{Address: addr(i)}, octaviatest.MemberScript{
		Provisioning: []octaviatest.Step{{After: 0, Status: "PENDING_CREATE"}, {After: 45 * time.Second, Status: "ACTIVE"}},
		Operating:    []octaviatest.Step{{After: 0, Status: "OFFLINE"}, {After: 55 * time.Second, Status: "ONLINE"}},
	})
}

func TestGateHoldsTheOldMachineUntilTheNewMemberServes(t *testing.T) {
	w := newWorld(t, 3)
	w.reconcile()
	mg := w.memberGate()
	w.g.Expect(mg.Spec.Mode).To(Equal(v1alpha1.ModeEnforce))
	w.g.Expect(mg.OwnerReferences).To(HaveLen(1))
	for i := 0; i < 3; i++ {
		w.g.Expect(w.hasHook(i)).To(BeTrue(), "cp-%d has no hook", i)
	}
	// Existing members serve once seen ONLINE for the settle window.
	w.run(2*time.Minute, func() bool { return w.condition(2) != nil && w.condition(2).Status == metav1.ConditionTrue })
	mg = w.memberGate()
	w.g.Expect(mg.Status.Replicas).To(HaveValue(BeEquivalentTo(3)))
	w.g.Expect(mg.Status.MemberReadyReplicas).To(HaveValue(BeEquivalentTo(3)))

	// maxSurge=1: the new Machine and its member, amphorav2-style; then KCP
	// deletes the oldest Machine.
	amphorav2(w, 3)
	w.addMachine(3)
	w.addMember(3)
	created := w.clk.Now()
	w.deleteMachine(0)
	w.reconcile()
	w.g.Expect(w.hasHook(0)).To(BeTrue(), "the old Machine lost its hook while the new member is PENDING_CREATE")
	mg = w.memberGate()
	w.g.Expect(mg.Status.Replicas).To(HaveValue(BeEquivalentTo(4)))
	w.g.Expect(mg.Status.MemberReadyReplicas).To(HaveValue(BeEquivalentTo(3)))
	w.g.Expect(w.blockingCondition().Status).To(Equal(metav1.ConditionTrue))
	w.g.Expect(w.blockingCondition().Message).To(ContainSubstring("cp-3"))
	w.g.Expect(w.condition(3).Reason).To(Equal(gate.ReasonMemberPending))
	w.g.Expect(strings.Join(w.events(), "\n")).To(ContainSubstring(gate.EventHeld))

	w.run(5*time.Minute, func() bool { return !w.hasHook(0) })
	served := w.clk.Since(created)
	t.Logf("old Machine released %s after the new member was created (ONLINE at 55s + 45s settle, then its own member drained for 30s)", served)
	w.g.Expect(served).To(BeNumerically(">=", 100*time.Second+v1alpha1.DefaultDrainPeriod))
	// The drain adds the period and the time Octavia takes to apply weight
	// 0, looked at every drain.Poll.
	w.g.Expect(served).To(BeNumerically("<=", 100*time.Second+memberwait.DefaultOnlineWatchGap+memberwait.DefaultMaxDelay+v1alpha1.DefaultDrainPeriod+2*drain.Poll))
	w.g.Expect(w.condition(3).Status).To(Equal(metav1.ConditionTrue))
	w.g.Expect(w.blockingCondition().Status).To(Equal(metav1.ConditionFalse))
	w.g.Expect(strings.Join(w.events(), "\n")).To(ContainSubstring(gate.EventReleased))
}

func TestGateNeverReleasesOnTimeButAlerts(t *testing.T) {
	w := newWorld(t, 2)
	w.run(2*time.Minute, func() bool { return w.condition(1).Status == metav1.ConditionTrue })
	w.octa.ScriptMembers(octaviatest.MemberMatch{Address: addr(2)}, octaviatest.MemberScript{
		Provisioning: []octaviatest.Step{{After: 0, Status: "PENDING_CREATE"}, {After: 5 * time.Second, Status: "ERROR"}},
	})
	w.addMachine(2)
	w.addMember(2)
	w.deleteMachine(0)
	w.events()
	w.run(time.Hour, func() bool { return w.clk.Now().After(epoch.Add(50 * time.Minute)) })
	w.g.Expect(w.hasHook(0)).To(BeTrue(), "released because time passed")
	w.g.Expect(w.condition(2).Reason).To(Equal(gate.ReasonMemberError))
	w.g.Expect(w.blockingCondition().Status).To(Equal(metav1.ConditionTrue))
	mg := w.memberGate()
	var row v1alpha1.MachineMembers
	for _, r := range mg.Status.Machines {
		if r.Name == "cp-0" {
			row = r
		}
	}
	w.g.Expect(row.Held && row.Alerted).To(BeTrue(), "row %+v", row)
	evs := strings.Join(w.events(), "\n")
	w.g.Expect(strings.Count(evs, gate.EventHeldTooLong)).To(Equal(1), evs)

	// A person releases it, and it is recorded.
	w.annotate(w.machine(0), v1alpha1.ReleaseAnnotation, "alice: replacing the member by hand")
	w.reconcile()
	w.g.Expect(w.hasHook(0)).To(BeFalse())
	w.g.Expect(strings.Join(w.events(), "\n")).To(And(ContainSubstring(gate.EventManualRelease), ContainSubstring("alice")))
}

func TestGateRestartMidHoldLosesNothing(t *testing.T) {
	releaseAfter := func(restart bool) time.Duration {
		w := newWorld(t, 2)
		w.run(2*time.Minute, func() bool { return w.condition(1).Status == metav1.ConditionTrue })
		amphorav2(w, 2)
		w.addMachine(2)
		w.addMember(2)
		created := w.clk.Now()
		w.deleteMachine(0)
		// Run until the new member is ONLINE and settling, then restart.
		w.run(3*time.Minute, func() bool { return w.clk.Since(created) > 70*time.Second })
		w.g.Expect(w.hasHook(0)).To(BeTrue())
		if restart {
			w.r = w.reconciler()
		}
		w.run(5*time.Minute, func() bool { return !w.hasHook(0) })
		return w.clk.Since(created)
	}
	straight := releaseAfter(false)
	restarted := releaseAfter(true)
	t.Logf("released %s after the member create; %s with a restart mid-hold", straight, restarted)
	NewWithT(t).Expect(restarted).To(Equal(straight), "a restart must neither restart the settle window nor skip it")
}

func TestGatePausedAndDeletingClusters(t *testing.T) {
	w := newWorld(t, 2)
	w.annotate(w.cluster, "cluster.x-k8s.io/paused", "true")
	res := w.reconcile()
	w.g.Expect(res.RequeueAfter).To(BeZero())
	w.g.Expect(w.hasHook(0) || w.hasHook(1)).To(BeFalse(), "hooks added while paused")

	w.annotate(w.cluster, "cluster.x-k8s.io/paused", "false")
	cl := w.cluster.DeepCopy()
	w.g.Expect(k8sClient.Get(w.ctx, clientKey(w.cluster), cl)).To(Succeed())
	delete(cl.Annotations, "cluster.x-k8s.io/paused")
	w.g.Expect(k8sClient.Update(w.ctx, cl)).To(Succeed())
	w.reconcile()
	w.g.Expect(w.hasHook(0) && w.hasHook(1)).To(BeTrue())

	// A new member that never serves would hold a deleting Machine, but the
	// cluster is going away: every hook goes at once.
	w.deleteMachine(0)
	w.g.Expect(k8sClient.Delete(w.ctx, cl)).To(Succeed())
	w.reconcile()
	w.g.Expect(w.hasHook(0) || w.hasHook(1)).To(BeFalse())
}

func TestGateOptOut(t *testing.T) {
	w := newWorld(t, 2)
	w.reconcile()
	w.g.Expect(w.hasHook(0)).To(BeTrue())
	w.annotate(w.cluster, v1alpha1.SkipAnnotation, "true")
	w.reconcile()
	w.g.Expect(w.hasHook(0) || w.hasHook(1)).To(BeFalse())
	w.g.Expect(w.condition(0)).To(BeNil())
}

func TestGateWithBrokenCredentialsHoldsAndSaysWhy(t *testing.T) {
	w := newWorld(t, 2)
	w.run(2*time.Minute, func() bool { return w.condition(1).Status == metav1.ConditionTrue })
	secret := &corev1.Secret{}
	w.g.Expect(k8sClient.Get(w.ctx, types.NamespacedName{Namespace: w.ns, Name: "cloud-config"}, secret)).To(Succeed())
	secret.Data["clouds.yaml"] = []byte("clouds: [this is: not yaml")
	w.g.Expect(k8sClient.Update(w.ctx, secret)).To(Succeed())
	w.deleteMachine(0)
	w.reconcile()
	w.g.Expect(w.hasHook(0)).To(BeTrue(), "released while Octavia could not be read")
	mg := w.memberGate()
	ready := meta.FindStatusCondition(mg.Status.Conditions, v1alpha1.ReadyCondition)
	w.g.Expect(ready).NotTo(BeNil())
	w.g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
	w.g.Expect(ready.Message).To(ContainSubstring("malformed clouds.yaml"))
	w.g.Expect(ready.Message).NotTo(ContainSubstring("s3cret"))
	// The Machine keeps its last known verdict, saying since when it is one.
	w.g.Expect(w.condition(1).Reason).To(Equal(gate.ReasonServing))
	w.g.Expect(w.condition(1).Message).To(ContainSubstring("last known, Octavia could not be read since"))
}

func TestGateHoldsThroughAnOctaviaOutage(t *testing.T) {
	w := newWorld(t, 2)
	w.run(2*time.Minute, func() bool { return w.condition(1).Status == metav1.ConditionTrue })
	remove := w.octa.InjectFault(octaviatest.Fault{PathContains: "/status", Codes: []int{503}})
	w.deleteMachine(0)
	for i := 0; i < 5; i++ {
		w.clk.Step(w.reconcile().RequeueAfter)
	}
	w.g.Expect(w.hasHook(0)).To(BeTrue(), "released while Octavia answered 503")
	w.g.Expect(w.condition(1).Reason).To(Equal(gate.ReasonServing), "a failed read changed the last known verdict")
	w.g.Expect(w.condition(1).Message).To(ContainSubstring("last known"))
	w.g.Expect(w.blockingCondition().Message).To(ContainSubstring("503"))
	// What Octavia answered, as status text: the request, the code and the
	// API's message, never the raw body.
	w.g.Expect(w.blockingCondition().Message).To(MatchRegexp(`GET http://127\.0\.0\.1:\d+/v2(\.0)?/lbaas/loadbalancers/[^/]+/status: 503: \S`))
	w.g.Expect(w.blockingCondition().Message).NotTo(ContainSubstring("{"), "a raw body in the condition")
	remove()
	// Back: released on a fresh observation.
	w.run(2*time.Minute, func() bool { return !w.hasHook(0) })
	w.g.Expect(w.condition(1).Status).To(Equal(metav1.ConditionTrue))
}

func TestGateReadsOctaviaOncePerPollNotPerReconcile(t *testing.T) {
	w := newWorld(t, 2)
	w.run(2*time.Minute, func() bool { return w.condition(1).Status == metav1.ConditionTrue })
	before := w.octa.RequestCount(octaviatest.OpGetLoadBalancerStatus)
	// Reconciles triggered by Machine status updates and our own patches,
	// before the verdicts ask to look again: no new read.
	for i := 0; i < 5; i++ {
		w.reconcile()
	}
	w.g.Expect(w.octa.RequestCount(octaviatest.OpGetLoadBalancerStatus)).To(Equal(before))
	// A new control-plane Machine is worth a look at once.
	w.addMachine(2)
	w.reconcile()
	w.g.Expect(w.octa.RequestCount(octaviatest.OpGetLoadBalancerStatus)).To(Equal(before + 1))
	// And once the schedule says so.
	w.clk.Step(w.reconcile().RequeueAfter)
	w.reconcile()
	w.g.Expect(w.octa.RequestCount(octaviatest.OpGetLoadBalancerStatus)).To(Equal(before + 2))
}

// laggingCache is a manager's cache that has not yet seen the controller's
// last writes: every MemberGate it returns is the copy frozen at hand.
type laggingCache struct {
	client.Client
	frozen *v1alpha1.MemberGate
}

func (c laggingCache) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if mg, ok := obj.(*v1alpha1.MemberGate); ok && c.frozen != nil {
		c.frozen.DeepCopyInto(mg)
		return nil
	}
	return c.Client.Get(ctx, key, obj, opts...)
}

// The MemberGate's status is the gate's memory; a cache that lags behind
// the controller's own writes must not make it forget. With the MemberGate
// read through the cache, the second reconcile below begins the hold again
// (a second RolloutHeld, heldSince re-stamped): as seen in the e2e rollouts.
func TestGateReadsItsMemoryPastALaggingCache(t *testing.T) {
	w := newWorld(t, 2)
	w.run(2*time.Minute, func() bool { return w.condition(1).Status == metav1.ConditionTrue })
	amphorav2(w, 2)
	w.addMachine(2)
	w.addMember(2)
	stale := w.memberGate() // before the hold: no row is held
	w.deleteMachine(0)
	w.r.Client = laggingCache{Client: k8sClient, frozen: stale}
	w.r.APIReader = k8sClient
	w.events()
	heldSince := func() *metav1.Time {
		for _, row := range w.memberGate().Status.Machines {
			if row.Name == "cp-0" {
				return row.HeldSince
			}
		}
		return nil
	}
	w.reconcile()
	began := heldSince()
	w.g.Expect(began).NotTo(BeNil())
	w.clk.Step(5 * time.Second)
	w.reconcile()
	w.g.Expect(heldSince()).To(Equal(began), "the hold began again")
	w.g.Expect(strings.Count(strings.Join(w.events(), "\n"), gate.EventHeld)).To(Equal(1))
}

// CAPO's identityRef.region reaches the Octavia client: the gate reads the
// region CAPO built the load balancer in, not the clouds.yaml's region_name.
func TestGateReadsTheIdentityRefRegion(t *testing.T) {
	w := newWorld(t, 1)
	osc := &infrav1.OpenStackCluster{}
	w.g.Expect(k8sClient.Get(w.ctx, types.NamespacedName{Namespace: w.ns, Name: "test"}, osc)).To(Succeed())
	// The region is immutable: CAPO's cluster is created with it.
	w.g.Expect(k8sClient.Delete(w.ctx, osc)).To(Succeed())
	lb := osc.Status.APIServerLoadBalancer
	osc = &infrav1.OpenStackCluster{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "test"}, Spec: osc.Spec}
	osc.Spec.IdentityRef.Region = "Mars"
	w.g.Expect(k8sClient.Create(w.ctx, osc)).To(Succeed())
	osc.Status.APIServerLoadBalancer = lb
	w.g.Expect(k8sClient.Status().Update(w.ctx, osc)).To(Succeed())
	w.reconcile()
	w.g.Expect(w.condition(0).Reason).To(Equal(gate.ReasonOctaviaUnavailable))
	w.g.Expect(w.blockingCondition().Message + w.condition(0).Message).To(ContainSubstring(`"Mars"`))
}
