package conformance

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	infrav1 "sigs.k8s.io/cluster-api-provider-openstack/api/v1beta1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/pkg/gate/remediate"
	"github.com/membergate/membergate/pkg/memberwait"
)

// TestGateDrillMemberErrorRecreated: the member-error drill with the
// MemberGate's remediation: Recreate. The new member's provisioning ERROR
// is written into Octavia's database; the gate deletes the member through
// Octavia's API and annotates the OpenStackMachine; the drill plays CAPO's
// reconcile that the annotation triggers (the member created again, by
// name and address, as CAPO's ReconcileLoadBalancerMember does for a
// Machine without one); the gate waits for the new member to serve and
// lets the old Machine go. No person acts.
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
	d.addMember(drillMachines)
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
