package conformance

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	infrav1 "sigs.k8s.io/cluster-api-provider-openstack/api/v1beta1"
	"sigs.k8s.io/cluster-api-provider-openstack/pkg/cloud/services/loadbalancer"
	capiv1beta1 "sigs.k8s.io/cluster-api/api/core/v1beta1" //nolint:staticcheck // CAPO v0.13's OpenStackCluster holds its APIEndpoint
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/pkg/gate/remediate"
	"github.com/membergate/membergate/pkg/memberwait"
	"github.com/membergate/membergate/test/capo/caposcope"
)

// TestGateDrillMemberErrorRecreated: the member-error drill with the
// MemberGate's remediation: Recreate. The new member's provisioning ERROR
// is written into Octavia's database; the gate deletes the member through
// Octavia's API and annotates the OpenStackMachine; the reconcile the
// annotation triggers runs CAPO v0.13's own ReconcileLoadBalancerMember,
// which creates the member again; the gate waits for the new member to
// serve and lets the old Machine go. No person acts.
func TestGateDrillMemberErrorRecreated(t *testing.T) {
	d := newDrill(t)
	mg := d.memberGate()
	orig := mg.DeepCopy()
	mg.Spec.Remediation = v1alpha1.RemediationRecreate
	d.g.Expect(d.kc.Patch(ctx, mg, client.MergeFrom(orig))).To(Succeed())
	// The new Machine's OpenStackMachine, which the gate annotates.
	osm := &infrav1.OpenStackMachine{ObjectMeta: metav1.ObjectMeta{Namespace: d.ns, Name: "cp-2"},
		Spec: infrav1.OpenStackMachineSpec{Flavor: ptr.To("m1.small"), Image: infrav1.ImageParam{Filter: &infrav1.ImageFilter{Name: ptr.To("ubuntu")}}}}
	d.g.Expect(d.kc.Create(ctx, osm)).To(Succeed())

	d.startRollout()
	d.serving(d.members[drillMachines])
	d.deleteMachine(0)
	errored := d.members[drillMachines]
	d.b.setMemberStatus(t, errored, memberwait.StatusError, memberwait.StatusOffline)
	erroredAt, wall := d.clk.Now(), time.Now()

	// The gate deletes the member and asks CAPO for a new one; cp-0 stays
	// held meanwhile.
	var annotated string
	deleted := d.run("the member in ERROR deleted and CAPO asked", 10*time.Minute, func() bool {
		d.g.Expect(d.hooked(0)).To(BeTrue(), "cp-0 released while cp-2's member is in ERROR: %s", d.describe())
		d.g.Expect(d.kc.Get(ctx, types.NamespacedName{Namespace: d.ns, Name: "cp-2"}, osm)).To(Succeed())
		annotated = osm.Annotations[v1alpha1.RecreateMemberAnnotation]
		_, err := pools.GetMember(ctx, d.b.client, d.poolID, errored).Extract()
		return annotated != "" && gophercloud.ResponseCodeIs(err, http.StatusNotFound)
	})
	t.Logf("member %s deleted by the gate and CAPO asked %s (virtual) after the ERROR, %s (wall)", errored, deleted, time.Since(wall).Round(time.Millisecond))

	// CAPO's reconcile: the Machine has no member, so it creates one.
	capoStart := time.Now()
	d.members[drillMachines] = d.capoReconcile(drillMachines)
	t.Logf("CAPO's ReconcileLoadBalancerMember created member %s in %s (wall)", d.members[drillMachines], time.Since(capoStart).Round(time.Millisecond))
	d.serving(d.members[drillMachines])
	took := d.finish("release after the member was recreated")
	total := d.clk.Since(erroredAt)
	st := d.memberGate().Status.Remediation
	d.g.Expect(st).NotTo(BeNil())
	d.g.Expect(st.Attempts).To(HaveLen(1))
	a := st.Attempts[0]
	d.g.Expect(a.MemberID).To(Equal(errored))
	d.g.Expect(a.Phase).To(Equal(string(remediate.Recreated)))
	d.g.Expect(a.NewMemberID).To(Equal(d.members[drillMachines]))
	warned := d.warnings()
	d.g.Expect(warned).To(ContainElement(remediate.EventRecreating))
	d.g.Expect(strings.Join(warned, " ")).NotTo(ContainSubstring(remediate.EventExhausted))
	report.timing("octavia", "gate drill: member ERROR (DB) → deleted by the gate, CAPO asked (virtual time)", deleted)
	report.timing("octavia", "gate drill: member ERROR (DB) → recreated, served, old Machine released (virtual time, settle window 45 s)", total)
	t.Logf("released %s (virtual) after the new member was created, %s after the ERROR; wall time %s", took, total, time.Since(wall).Round(time.Second))
}

// capoReconcile runs CAPO v0.13's own member code for cp-i, as CAPO's
// OpenStackMachine controller does on any change of the object (the gate's
// annotation): ReconcileLoadBalancerMember against the drill's load
// balancer, its pool given CAPO's name for the cluster, with the drill's
// token. It returns the member CAPO created.
func (d *drill) capoReconcile(i int) string {
	d.t.Helper()
	crn := d.ns + "-test" // CAPO's clusterResourceName: <namespace>-<cluster>
	lbName := "k8s-clusterapi-cluster-" + crn + "-kubeapi"
	portName := fmt.Sprintf("%s-%d", lbName, 6443)
	if _, err := pools.Update(ctx, d.b.client, d.poolID, pools.UpdateOpts{Name: &portName}).Extract(); err != nil {
		d.t.Fatalf("giving the pool CAPO's name: %v", err)
	}
	waitActive(d.t, d.b, d.lbID, "lb")
	sc := &caposcope.Scope{OctaviaURL: d.b.stack.get("OS_OCTAVIA_ENDPOINT"), Project: d.b.stack.get("OS_PROJECT_ID"),
		HTTPClient: &http.Client{Transport: tokenTransport{sc: d.b.client}, Timeout: 30 * time.Second}}
	svc, err := loadbalancer.NewService(sc.WithLogger(logr.Discard()))
	d.g.Expect(err).NotTo(HaveOccurred())
	osc := &infrav1.OpenStackCluster{ObjectMeta: metav1.ObjectMeta{Namespace: d.ns, Name: "test"},
		Spec: infrav1.OpenStackClusterSpec{ControlPlaneEndpoint: &capiv1beta1.APIEndpoint{Host: "192.0.2.10", Port: 6443}},
		Status: infrav1.OpenStackClusterStatus{
			Network: &infrav1.NetworkStatusWithSubnets{NetworkStatus: infrav1.NetworkStatus{ID: "net", Name: crn},
				Subnets: []infrav1.Subnet{{ID: vipSubnet, Name: crn, CIDR: "10.0.1.0/24"}}},
			APIServerLoadBalancer: &infrav1.LoadBalancer{ID: d.lbID, Name: lbName, IP: "192.0.2.10", InternalIP: "10.0.1.2"},
		}}
	osm := &infrav1.OpenStackMachine{ObjectMeta: metav1.ObjectMeta{Namespace: d.ns, Name: fmt.Sprintf("cp-%d", i)}}
	d.g.Expect(svc.ReconcileLoadBalancerMember(osc, osm, crn, drillAddr(i))).To(Succeed())
	name := portName + "-" + osm.Name
	page, err := pools.ListMembers(d.b.client, d.poolID, pools.ListMembersOpts{Name: name}).AllPages(ctx)
	d.g.Expect(err).NotTo(HaveOccurred())
	ms, err := pools.ExtractMembers(page)
	d.g.Expect(err).NotTo(HaveOccurred())
	d.g.Expect(ms).To(HaveLen(1), "CAPO's member %s", name)
	d.g.Expect(ms[0].Address).To(Equal(drillAddr(i)))
	return ms[0].ID
}

// tokenTransport sends CAPO's requests with the drill's Keystone token:
// caposcope's clients carry none.
type tokenTransport struct{ sc *gophercloud.ServiceClient }

// RoundTrip implements http.RoundTripper.
func (t tokenTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Auth-Token", t.sc.Token())
	return http.DefaultTransport.RoundTrip(r)
}
