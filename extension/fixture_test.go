package extension

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	infrav1 "sigs.k8s.io/cluster-api-provider-openstack/api/v1beta1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/internal/scheme"
)

var now = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// The cluster of the testdata bodies: team-a/prod on CAPO.
const ns, name = "team-a", "prod"

func cluster() *clusterv1.Cluster {
	return &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: clusterv1.ClusterSpec{InfrastructureRef: clusterv1.ContractVersionedObjectReference{
			APIGroup: infrav1.SchemeGroupVersion.Group, Kind: "OpenStackCluster", Name: "prod-8k4fj"}}}
}

func openStackCluster() *infrav1.OpenStackCluster {
	return &infrav1.OpenStackCluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "prod-8k4fj"},
		Spec: infrav1.OpenStackClusterSpec{APIServerLoadBalancer: &infrav1.APIServerLoadBalancer{Enabled: ptr.To(true)}}}
}

func servingMember(id, addr string) v1alpha1.Member {
	return v1alpha1.Member{PoolID: "pool-6443", ID: id, Address: addr, ProtocolPort: 6443,
		ProvisioningStatus: "ACTIVE", OperatingStatus: "ONLINE", Serving: true}
}

// memberGate is the controller's observation 20 s ago: the load balancer is
// ACTIVE; prod-cp-new's member is PENDING_CREATE (the amphorav2 quirk).
func memberGate() *v1alpha1.MemberGate {
	checked := metav1.NewTime(now.Add(-20 * time.Second))
	since := metav1.NewTime(now.Add(-2 * time.Minute))
	return &v1alpha1.MemberGate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.MemberGateSpec{ClusterName: name, Mode: v1alpha1.ModeEnforce},
		Status: v1alpha1.MemberGateStatus{LoadBalancer: v1alpha1.LoadBalancerStatus{ID: "lb-1", ProvisioningStatus: "ACTIVE", OperatingStatus: "ONLINE"}, LastChecked: &checked,
			Conditions: []metav1.Condition{{Type: v1alpha1.ReadyCondition, Status: metav1.ConditionTrue, Reason: "Observed", LastTransitionTime: checked}},
			Machines: []v1alpha1.MachineMembers{
				{Name: "prod-cp-old", MemberReady: true, Reason: "MemberServing", Members: []v1alpha1.Member{servingMember("m-old", "10.0.0.10")}},
				{Name: "prod-cp-new", Reason: "MemberPending", Members: []v1alpha1.Member{{PoolID: "pool-6443", ID: "m-new",
					Address: "10.0.0.11", ProtocolPort: 6443, ProvisioningStatus: "PENDING_CREATE", OperatingStatus: "OFFLINE", Since: &since}}},
			}}}
}

// allServing marks every Machine of a MemberGate member-ready.
func allServing(mg *v1alpha1.MemberGate) {
	for i := range mg.Status.Machines {
		row := &mg.Status.Machines[i]
		row.MemberReady, row.Reason = true, "MemberServing"
		for j := range row.Members {
			row.Members[j].ProvisioningStatus, row.Members[j].OperatingStatus, row.Members[j].Serving = "ACTIVE", "ONLINE", true
		}
	}
}

func fakeClient(objs ...client.Object) client.Client {
	return fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(objs...).WithStatusSubresource(&v1alpha1.MemberGate{}).Build()
}

func handlers(c client.Reader) *Handlers {
	return &Handlers{Client: c, Clock: clocktesting.NewFakePassiveClock(now)}
}
