package extension

import (
	"context"
	"errors"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	runtimehooksv1 "sigs.k8s.io/cluster-api/api/runtime/hooks/v1alpha1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/internal/scheme"
	"github.com/membergate/membergate/pkg/gate"
)

func TestDecide(t *testing.T) {
	key := types.NamespacedName{Namespace: ns, Name: name}
	tests := []struct {
		name  string
		objs  func() []client.Object
		hook  gate.Hook
		allow bool
		want  string
	}{
		{name: "the amphorav2 quirk blocks, naming the member and its statuses",
			objs: func() []client.Object { return []client.Object{cluster(), openStackCluster(), memberGate()} },
			want: "prod-cp-new (MemberPending): member m-new (10.0.0.11:6443) in pool pool-6443 is PENDING_CREATE/OFFLINE since 2026-11-21T11:58:00Z"},
		{name: "every member serving allows",
			objs: func() []client.Object {
				mg := memberGate()
				allServing(mg)
				return []client.Object{cluster(), openStackCluster(), mg}
			}, allow: true, want: "2 control-plane Machine(s) are member-ready"},
		{name: "an orphan holds the workers after the control plane upgrade",
			hook: gate.AfterControlPlaneUpgrade,
			objs: func() []client.Object {
				mg := memberGate()
				allServing(mg)
				mg.Status.Orphans = []v1alpha1.Member{{PoolID: "pool-6443", ID: "m-gone", Address: "10.0.0.9", ProtocolPort: 6443, ProvisioningStatus: "ACTIVE", OperatingStatus: "ERROR"}}
				return []client.Object{cluster(), openStackCluster(), mg}
			}, want: "orphan member(s) belong to no control-plane Machine: member m-gone (10.0.0.9:6443)"},
		{name: "a load balancer PENDING_UPDATE blocks though every member serves",
			objs: func() []client.Object {
				mg := memberGate()
				allServing(mg)
				mg.Status.LoadBalancer.ProvisioningStatus = "PENDING_UPDATE"
				return []client.Object{cluster(), openStackCluster(), mg}
			}, want: "load balancer lb-1 is PENDING_UPDATE/ONLINE, not ACTIVE"},
		{name: "a load balancer in ERROR blocks, with both statuses",
			objs: func() []client.Object {
				mg := memberGate()
				allServing(mg)
				mg.Status.LoadBalancer.ProvisioningStatus, mg.Status.LoadBalancer.OperatingStatus = "ERROR", "OFFLINE"
				return []client.Object{cluster(), openStackCluster(), mg}
			}, want: "load balancer lb-1 is ERROR/OFFLINE, not ACTIVE"},
		{name: "Octavia unreadable: the controller's reason is passed on",
			objs: func() []client.Object {
				mg := memberGate()
				mg.Status.LoadBalancer.ProvisioningStatus, mg.Status.LoadBalancer.OperatingStatus = "", ""
				mg.Status.Conditions[0].Status, mg.Status.Conditions[0].Message = metav1.ConditionFalse, "Octavia answered 503 Service Unavailable"
				return []client.Object{cluster(), openStackCluster(), mg}
			}, want: "could not be observed: Octavia answered 503 Service Unavailable"},
		{name: "a stale observation blocks: older than an idle cluster's, with slack",
			objs: func() []client.Object {
				mg := memberGate()
				allServing(mg)
				old := metav1.NewTime(now.Add(-9 * time.Minute))
				mg.Status.LastChecked = &old
				return []client.Object{cluster(), openStackCluster(), mg}
			}, want: "waiting for a fresh observation: the last one is 9m0s old"},
		{name: "an idle cluster's observation, one idle resync old, answers",
			objs: func() []client.Object {
				mg := memberGate()
				allServing(mg)
				old := metav1.NewTime(now.Add(-5 * time.Minute))
				mg.Status.LastChecked = &old
				return []client.Object{cluster(), openStackCluster(), mg}
			}, allow: true},
		{name: "a gated cluster without a MemberGate yet was never observed: blocks",
			objs: func() []client.Object { return []client.Object{cluster(), openStackCluster()} },
			want: "waiting for a fresh observation: the gate has not observed the load balancer yet"},
		{name: "mode Disabled allows",
			objs: func() []client.Object {
				mg := memberGate()
				mg.Spec.Mode = v1alpha1.ModeDisabled
				return []client.Object{cluster(), openStackCluster(), mg}
			}, allow: true, want: "gating is disabled"},
		{name: "the skip annotation allows",
			objs: func() []client.Object {
				c := cluster()
				c.Annotations = map[string]string{v1alpha1.SkipAnnotation: "true"}
				return []client.Object{c, openStackCluster(), memberGate()}
			}, allow: true, want: "opts out"},
		{name: "a cluster on other infrastructure is not gated",
			objs: func() []client.Object {
				c := cluster()
				c.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{APIGroup: "infrastructure.cluster.x-k8s.io", Kind: "DockerCluster", Name: "d"}
				return []client.Object{c, memberGate()}
			}, allow: true, want: "not gated"},
		{name: "a cluster without an API server load balancer by spec is not gated",
			objs: func() []client.Object {
				osc := openStackCluster()
				osc.Spec.APIServerLoadBalancer.Enabled = ptr.To(false)
				return []client.Object{cluster(), osc, memberGate()}
			}, allow: true, want: "no API server load balancer"},
		{name: "a load balancer not created yet blocks until the gate observed it",
			objs: func() []client.Object { return []client.Object{cluster(), openStackCluster()} },
			want: "the gate has not observed the load balancer yet"},
		{name: "no such cluster: nothing to gate",
			objs: func() []client.Object { return nil }, allow: true, want: "cluster not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			hook := tt.hook
			if hook == "" {
				hook = gate.BeforeClusterUpgrade
			}
			v, err := handlers(fakeClient(tt.objs()...)).Decide(context.Background(), hook, key)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(v.Allow).To(Equal(tt.allow), v.Message)
			g.Expect(v.Message).To(ContainSubstring(tt.want))
		})
	}
}

// TestHandlersFillTheResponse: blocking is Success with retryAfterSeconds,
// as the Runtime SDK defines it; an API error is a Failure that says so.
func TestHandlersFillTheResponse(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	h := handlers(fakeClient(cluster(), openStackCluster(), memberGate()))
	req := &runtimehooksv1.BeforeControlPlaneUpgradeRequest{Cluster: *cluster()}
	resp := &runtimehooksv1.BeforeControlPlaneUpgradeResponse{}
	h.DoBeforeControlPlaneUpgrade(ctx, req, resp)
	g.Expect(resp.Status).To(Equal(runtimehooksv1.ResponseStatusSuccess))
	g.Expect(resp.RetryAfterSeconds).To(Equal(int32(15)))
	g.Expect(resp.Message).To(ContainSubstring("prod-cp-new (MemberPending)"))

	mg := memberGate()
	allServing(mg)
	h = handlers(fakeClient(cluster(), openStackCluster(), mg))
	after := &runtimehooksv1.AfterControlPlaneUpgradeResponse{CommonRetryResponse: runtimehooksv1.CommonRetryResponse{RetryAfterSeconds: 99}}
	h.DoAfterControlPlaneUpgrade(ctx, &runtimehooksv1.AfterControlPlaneUpgradeRequest{Cluster: *cluster()}, after)
	g.Expect(after.Status).To(Equal(runtimehooksv1.ResponseStatusSuccess))
	g.Expect(after.RetryAfterSeconds).To(BeZero(), "an allowing answer must clear retryAfterSeconds")

	broken := fake.NewClientBuilder().WithScheme(scheme.New()).WithInterceptorFuncs(interceptor.Funcs{
		Get: func(context.Context, client.WithWatch, client.ObjectKey, client.Object, ...client.GetOption) error {
			return errors.New("etcdserver: request timed out")
		}}).Build()
	failed := &runtimehooksv1.BeforeClusterUpgradeResponse{}
	handlers(broken).DoBeforeClusterUpgrade(ctx, &runtimehooksv1.BeforeClusterUpgradeRequest{Cluster: *cluster()}, failed)
	g.Expect(failed.Status).To(Equal(runtimehooksv1.ResponseStatusFailure))
	g.Expect(failed.Message).To(ContainSubstring("etcdserver: request timed out"))

	nameless := &runtimehooksv1.BeforeClusterUpgradeResponse{}
	h.DoBeforeClusterUpgrade(ctx, &runtimehooksv1.BeforeClusterUpgradeRequest{}, nameless)
	g.Expect(nameless.Status).To(Equal(runtimehooksv1.ResponseStatusFailure))
	g.Expect(nameless.Message).To(ContainSubstring("names no Cluster"))
}
