package controllers

import (
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"golang.org/x/time/rate"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/internal/cloud/scope"
	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
)

// servingWorld is a cluster whose three members serve and whose hooks are
// placed: nothing pending, nothing deleting.
func servingWorld(t *testing.T) *world {
	w := newWorld(t, 3)
	w.run(5*time.Minute, func() bool {
		c := w.condition(2)
		return c != nil && c.Status == metav1.ConditionTrue && w.condition(0).Status == metav1.ConditionTrue
	})
	return w
}

// statusReads is how many status trees the cluster's Octavia served.
func (w *world) statusReads() int { return w.octa.RequestCount(octaviatest.OpGetLoadBalancerStatus) }

func TestIdleClusterIsReadOncePerIdleResync(t *testing.T) {
	w := servingWorld(t)
	res := w.reconcile()
	// The manager's default --idle-resync.
	idle := 5 * time.Minute
	w.g.Expect(res.RequeueAfter).To(And(BeNumerically(">=", idle-time.Second), BeNumerically("<=", idle+idle/5)),
		"an idle cluster is looked at again after the idle resync, not the fast one")

	// Events within the idle resync (the gate's own writes, another
	// controller's) reuse the observation: Octavia is not read.
	reads := w.statusReads()
	for range 4 {
		w.clk.Step(time.Minute)
		w.reconcile()
	}
	w.g.Expect(w.statusReads()).To(Equal(reads), "reconciles within the idle resync read Octavia")

	// A member that goes ERROR while the cluster is idle is seen at the
	// next idle look, and the cluster is no longer idle.
	w.g.Expect(w.octa.SetMemberStatus(w.memberID(1), "ERROR", "")).To(Succeed())
	w.clk.Step(res.RequeueAfter - 4*time.Minute)
	res = w.reconcile()
	w.g.Expect(w.statusReads()).To(Equal(reads + 1))
	w.g.Expect(w.condition(1).Reason).To(Equal(gate.ReasonMemberError))
	w.g.Expect(res.RequeueAfter).To(BeNumerically("<=", gate.Resync), "a cluster with a failed member is watched at the fast resync")
}

func TestDeletingMachineKeepsTheFastResync(t *testing.T) {
	w := servingWorld(t)
	// A Machine deleting without the gate's hook is nothing to hold, but a
	// rollout is under way: the cluster is not idle.
	w.annotate(w.machine(2), v1alpha1.PreDrainHookAnnotation, "")
	w.deleteMachine(2)
	res := w.reconcile()
	w.g.Expect(res.RequeueAfter).To(BeNumerically("<=", gate.Resync))
}

// memberID is cp-i's member in the pool.
func (w *world) memberID(i int) string {
	w.t.Helper()
	all, err := pools.ListMembers(w.octa.ServiceClient(), w.poolID, nil).AllPages(w.ctx)
	w.g.Expect(err).NotTo(HaveOccurred())
	members, err := pools.ExtractMembers(all)
	w.g.Expect(err).NotTo(HaveOccurred())
	for _, m := range members {
		if m.Address == addr(i) {
			return m.ID
		}
	}
	w.t.Fatalf("no member for cp-%d", i)
	return ""
}

func TestDeletedClusterIsForgotten(t *testing.T) {
	w := servingWorld(t)
	key := clientKey(w.cluster)
	w.r.insecureWarned.Store(key.String()+" "+w.ns+"/cloud-config/openstack", true)
	w.r.insecureWarned.Store(key.String()+"-other "+w.ns+"/cloud-config/openstack", true)
	g := NewWithT(t)
	w.g.Expect(k8sClient.Delete(w.ctx, w.cluster)).To(Succeed())
	w.g.Expect(k8sClient.Get(w.ctx, key, w.cluster)).To(Succeed())
	w.cluster.Finalizers = nil
	w.g.Expect(k8sClient.Update(w.ctx, w.cluster)).To(Succeed())
	g.Eventually(func() error { return k8sClient.Get(w.ctx, key, w.cluster) }).Should(MatchError(ContainSubstring("not found")))
	w.reconcile()
	var left []string
	w.r.insecureWarned.Range(func(k, _ any) bool { left = append(left, k.(string)); return true })
	g.Expect(left).To(ConsistOf(key.String() + "-other " + w.ns + "/cloud-config/openstack"))
	_, ok := w.r.snapshots.entries[key.String()]
	g.Expect(ok).To(BeFalse())
}

// An idle look reads the status tree and nothing else: the monitors'
// parameters, which only a member inside its settle window needs, are not
// read again when their cache expires between idle looks. A cluster that
// stops being idle (a new Machine) reads them again, so that its new
// member's Auto settle window comes from its monitor.
func TestIdleLookReadsOnlyTheStatusTree(t *testing.T) {
	w := newWorld(t, 3)
	// The source's monitor cache ages by the test's clock.
	w.r.Sources = &scope.SecretSources{Client: k8sClient, Budget: rate.Inf, Clock: w.clk}
	w.run(5*time.Minute, func() bool {
		c := w.condition(2)
		return c != nil && c.Status == metav1.ConditionTrue && w.condition(0).Status == metav1.ConditionTrue
	})
	res := w.reconcile()
	monitorReads := func() int { return w.octa.RequestCount(octaviatest.OpGetHealthMonitor) }
	monitors, reads := monitorReads(), w.statusReads()
	w.g.Expect(monitors).To(BeNumerically(">", 0), "the Auto settle window read no monitor")
	const looks = 6 // 30 minutes and more: past memberwait.DefaultMonitorCacheTTL
	for range looks {
		w.clk.Step(res.RequeueAfter)
		res = w.reconcile()
		w.g.Expect(res.RequeueAfter).To(BeNumerically(">", gate.Resync), "the cluster stopped being idle")
	}
	w.g.Expect(w.statusReads() - reads).To(Equal(looks))
	w.g.Expect(monitorReads()-monitors).To(BeZero(), "idle looks read the monitors")
	w.g.Expect(w.condition(0).Status).To(Equal(metav1.ConditionTrue))

	// A rollout begins: the new Machine's member is judged with its
	// monitor's window, read again.
	w.addMember(3)
	w.addMachine(3)
	w.reconcile()
	w.g.Expect(monitorReads() - monitors).To(Equal(1))
}
