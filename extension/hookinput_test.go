package extension

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/pkg/gate"
)

// TestHookInputReadsTheTypedStatus: the hook input takes the load
// balancer's ID and statuses from their own status fields, as the
// controller wrote them, and the reason it could not be observed from the
// Ready condition.
func TestHookInputReadsTheTypedStatus(t *testing.T) {
	g := NewWithT(t)
	mg := memberGate()
	mg.Status.LoadBalancer = v1alpha1.LoadBalancerStatus{ID: "lb-7", ProvisioningStatus: "PENDING_UPDATE", OperatingStatus: "DEGRADED"}
	in := HookInput(gate.BeforeControlPlaneUpgrade, now, mg)
	g.Expect(in.LoadBalancer).To(Equal(gate.HookLoadBalancer{ID: "lb-7", ProvisioningStatus: "PENDING_UPDATE", OperatingStatus: "DEGRADED"}))
	g.Expect(in.ObservedAt).To(Equal(mg.Status.LastChecked.Time))
	g.Expect(in.Machines).To(HaveLen(2))
	g.Expect([]any{in.Machines[1].Name, in.Machines[1].MemberReady, in.Machines[1].Reason}).To(Equal([]any{"prod-cp-new", false, "MemberPending"}))

	// Octavia unreadable: the last good statuses stay in the status, and
	// the Ready condition says why they are not fresh.
	mg.Status.Conditions[0].Status, mg.Status.Conditions[0].Message = metav1.ConditionFalse, "Octavia answered 503"
	in = HookInput(gate.BeforeControlPlaneUpgrade, now, mg)
	g.Expect(in.LoadBalancer).To(Equal(gate.HookLoadBalancer{ID: "lb-7", ProvisioningStatus: "PENDING_UPDATE", OperatingStatus: "DEGRADED", Unavailable: "Octavia answered 503"}))

	// A load balancer not found: no statuses, and the verdict says so.
	mg.Status.Conditions[0].Status = metav1.ConditionTrue
	mg.Status.LoadBalancer = v1alpha1.LoadBalancerStatus{ID: "lb-7"}
	allServing(mg)
	v := gate.DecideHook(HookInput(gate.BeforeControlPlaneUpgrade, now, mg))
	g.Expect(v.Allow).To(BeFalse())
	g.Expect(v.Message).To(ContainSubstring("load balancer lb-7 is unknown, not ACTIVE"))
}
