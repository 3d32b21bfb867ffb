package securitygroup

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	infrav1 "sigs.k8s.io/cluster-api-provider-openstack/api/v1beta1"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
)

// A settled cluster (its rules in place, no problem, no failing member)
// has its groups read once per idle resync, jittered as the gate's idle
// looks, and is not looked at in between; drift is still repaired at the
// next pass. A problem brings back the minute's pace until a pass is
// clean again.
func TestSettledClusterIsReadOncePerIdleResync(t *testing.T) {
	const idle = 5 * time.Minute
	w := newWorld(t, options{machines: 2, cpGroups: []string{"cp"}, sg: enforce()})
	w.r.IdleResync, w.gate.IdleResync = idle, idle
	key := types.NamespacedName{Namespace: w.ns, Name: "test"}
	period := gate.IdleAfter(key.String(), idle)
	w.reconcile()
	w.g.Expect(w.ours(w.cp)).To(HaveLen(1))
	w.g.Expect(w.sgCondition().Status).To(Equal(metav1.ConditionTrue))

	sgOnly := func() ctrl.Result {
		t.Helper()
		res, err := w.r.Reconcile(w.ctx, ctrl.Request{NamespacedName: key})
		w.g.Expect(err).NotTo(HaveOccurred())
		return res
	}
	// The pass just ran: the next look is when the next one is due.
	w.g.Expect(sgOnly().RequeueAfter).To(Equal(period), "a settled cluster is looked at every %s, not when its pass is due", Resync)

	before := w.neutron.Requests()
	for w.clk.Step(SecurityGroupInterval); w.clk.Since(epoch) < period; w.clk.Step(SecurityGroupInterval) {
		res := sgOnly()
		w.g.Expect(w.requestsSince(before)).To(BeEmpty(), "a settled cluster's groups read before its idle resync")
		w.g.Expect(res.RequeueAfter).To(BeNumerically(">", 0))
	}
	// Drift: our rule deleted by hand comes back at the idle pass.
	for _, r := range w.ours(w.cp) {
		w.g.Expect(rules.Delete(w.ctx, w.neutron.ServiceClient(), r.ID).ExtractErr()).To(Succeed())
	}
	before = w.neutron.Requests()
	w.clk.SetTime(w.memberGate().Status.SecurityGroups.LastSynced.Add(period))
	w.g.Expect(sgOnly().RequeueAfter).To(Equal(period))
	// (Before it writes, the pass checks the group is the project's own.)
	w.g.Expect(w.requestsSince(before)).To(And(HaveKeyWithValue("GET /v2.0/ports", 1), HaveKeyWithValue("GET /v2.0/security-group-rules", 1),
		HaveKeyWithValue("POST /v2.0/security-group-rules", 1)))
	w.g.Expect(w.ours(w.cp)).To(HaveLen(1))
	w.g.Expect(strings.Join(w.events(), "\n")).To(ContainSubstring("SecurityGroupRuleAdded"))

	// A problem: Neutron refuses the pass. The next is a minute away,
	// not an idle resync, and the look before it every Resync.
	w.neutron.Overload("ports", 1, http.StatusServiceUnavailable, 0)
	w.clk.Step(period)
	w.g.Expect(sgOnly().RequeueAfter).To(Equal(Resync))
	w.g.Expect(w.memberGate().Status.SecurityGroups.Problems).NotTo(BeEmpty())
	before = w.neutron.Requests()
	w.clk.Step(SecurityGroupInterval)
	w.g.Expect(sgOnly().RequeueAfter).To(Equal(period), "a clean pass after a problem settles the cluster again")
	w.g.Expect(w.requestsSince(before)).To(HaveKeyWithValue("GET /v2.0/ports", 1))
	w.g.Expect(w.memberGate().Status.SecurityGroups.Problems).To(BeEmpty())
}

// A settled cluster's load-balancer topology is read again when what it
// was read for changes — the allowed CIDRs CAPO applied to the listener —
// and otherwise only once SettledTopologyAge is over, not every ten
// minutes: the idle passes cost Neutron only.
func TestSettledClusterKeepsItsTopology(t *testing.T) {
	const idle = 5 * time.Minute
	w := newWorld(t, options{machines: 2, cpGroups: []string{"cp"}, sg: enforce()})
	w.r.IdleResync, w.gate.IdleResync = idle, idle
	key := types.NamespacedName{Namespace: w.ns, Name: "test"}
	w.reconcile()
	w.g.Expect(w.sgCondition().Status).To(Equal(metav1.ConditionTrue))
	topologyReads := func() int { return w.octa.RequestCount(octaviatest.OpGetLoadBalancer) }
	reads := topologyReads()
	passes := w.neutron.Requests()["GET /v2.0/ports"]

	for w.clk.Since(epoch) < SettledTopologyAge-gate.LongestIdle(idle) {
		res, err := w.r.Reconcile(w.ctx, ctrl.Request{NamespacedName: key})
		w.g.Expect(err).NotTo(HaveOccurred())
		w.clk.Step(res.RequeueAfter)
	}
	w.g.Expect(w.neutron.Requests()["GET /v2.0/ports"]-passes).To(BeNumerically(">=", 15), "the idle passes did not run")
	w.g.Expect(topologyReads()-reads).To(BeZero(), "a settled cluster's topology read again while nothing it was read for changed")

	// CAPO applies new allowed CIDRs: a pass at once, on a topology read
	// again.
	var osc infrav1.OpenStackCluster
	w.g.Expect(k8sClient.Get(w.ctx, key, &osc)).To(Succeed())
	osc.Status.APIServerLoadBalancer.AllowedCIDRs = []string{"192.0.2.0/24"}
	w.g.Expect(k8sClient.Status().Update(w.ctx, &osc)).To(Succeed())
	_, err := w.r.Reconcile(w.ctx, ctrl.Request{NamespacedName: key})
	w.g.Expect(err).NotTo(HaveOccurred())
	w.g.Expect(topologyReads()-reads).To(Equal(1), "new allowed CIDRs did not bring a fresh topology")

	// Past SettledTopologyAge it is read again, changed or not.
	reads = topologyReads()
	for start := w.clk.Now(); w.clk.Since(start) <= SettledTopologyAge+gate.LongestIdle(idle); {
		res, err := w.r.Reconcile(w.ctx, ctrl.Request{NamespacedName: key})
		w.g.Expect(err).NotTo(HaveOccurred())
		w.clk.Step(res.RequeueAfter)
	}
	w.g.Expect(topologyReads() - reads).To(Equal(1))
}
