package extension

import (
	"context"
	"fmt"
	"math"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	runtimehooksv1 "sigs.k8s.io/cluster-api/api/runtime/hooks/v1alpha1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/internal/cloud/scope"
	"github.com/membergate/membergate/pkg/gate"
)

// The handlers read what the gate controller reads and writes; they write
// nothing.
// +kubebuilder:rbac:groups=cluster.x-k8s.io,resources=clusters,verbs=get;list;watch
// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=openstackclusters,verbs=get;list;watch
// +kubebuilder:rbac:groups=membergate.io,resources=membergates,verbs=get;list;watch

// Handlers answer the lifecycle hooks from the MemberGate status the gate
// controller keeps: they never call OpenStack, so an answer costs one cache
// read and says exactly what the controller saw.
type Handlers struct {
	// Client reads Clusters, OpenStackClusters and MemberGates (the
	// manager's cached client).
	Client client.Reader
	// Locator decides whether a Cluster is gated; nil means the
	// controller's CAPOLocator, so both agree on which clusters are gated.
	Locator scope.LoadBalancerLocator
	// Clock defaults to the real clock.
	Clock clock.PassiveClock
	// MaxObservationAge is how old the controller's observation may be;
	// 0 means gate.DefaultMaxObservationAge.
	MaxObservationAge time.Duration
}

// DoBeforeClusterUpgrade holds a new version from the control plane while
// the load balancer is not ACTIVE or a control-plane Machine is not
// member-ready.
func (h *Handlers) DoBeforeClusterUpgrade(ctx context.Context, req *runtimehooksv1.BeforeClusterUpgradeRequest, resp *runtimehooksv1.BeforeClusterUpgradeResponse) {
	h.answer(ctx, gate.BeforeClusterUpgrade, &req.Cluster, &resp.CommonRetryResponse)
}

// DoBeforeControlPlaneUpgrade applies the same rule before each
// control-plane upgrade step (CAPI >= 1.12 calls it).
func (h *Handlers) DoBeforeControlPlaneUpgrade(ctx context.Context, req *runtimehooksv1.BeforeControlPlaneUpgradeRequest, resp *runtimehooksv1.BeforeControlPlaneUpgradeResponse) {
	h.answer(ctx, gate.BeforeControlPlaneUpgrade, &req.Cluster, &resp.CommonRetryResponse)
}

// DoAfterControlPlaneUpgrade holds the workers until every control-plane
// Machine is member-ready and no orphan member remains.
func (h *Handlers) DoAfterControlPlaneUpgrade(ctx context.Context, req *runtimehooksv1.AfterControlPlaneUpgradeRequest, resp *runtimehooksv1.AfterControlPlaneUpgradeResponse) {
	h.answer(ctx, gate.AfterControlPlaneUpgrade, &req.Cluster, &resp.CommonRetryResponse)
}

// answer fills a hook response. A verdict is always a Success (blocking is
// Success with retryAfterSeconds > 0, as the Runtime SDK defines it);
// Failure is kept for not being able to decide at all.
func (h *Handlers) answer(ctx context.Context, hook gate.Hook, cluster *clusterv1.Cluster, resp *runtimehooksv1.CommonRetryResponse) {
	key := types.NamespacedName{Namespace: cluster.Namespace, Name: cluster.Name}
	logger := ctrl.LoggerFrom(ctx).WithValues("hook", hook, "cluster", key)
	v, err := h.Decide(ctx, hook, key)
	if err != nil {
		logger.Error(err, "cannot answer the hook")
		resp.Status = runtimehooksv1.ResponseStatusFailure
		resp.Message = fmt.Sprintf("membergate cannot decide %s for cluster %s: %v", hook, key, err)
		return
	}
	resp.Status = runtimehooksv1.ResponseStatusSuccess
	resp.Message = v.Message
	resp.RetryAfterSeconds = 0
	if !v.Allow {
		resp.RetryAfterSeconds = int32(math.Ceil(v.RetryAfter.Seconds()))
		logger.Info("blocking", "retryAfterSeconds", resp.RetryAfterSeconds, "reason", v.Message)
		return
	}
	logger.V(2).Info("allowing", "reason", v.Message)
}

// Decide answers one hook for one Cluster: allowed when the Cluster is not
// gated (not a CAPO cluster, the skip annotation, mode Disabled), otherwise
// gate.DecideHook on the MemberGate status.
func (h *Handlers) Decide(ctx context.Context, hook gate.Hook, key types.NamespacedName) (gate.HookVerdict, error) {
	if key.Name == "" || key.Namespace == "" {
		return gate.HookVerdict{}, fmt.Errorf("the request names no Cluster (namespace %q, name %q)", key.Namespace, key.Name)
	}
	var cluster clusterv1.Cluster
	if err := h.Client.Get(ctx, key, &cluster); err != nil {
		if apierrors.IsNotFound(err) {
			return gate.HookVerdict{Allow: true, Message: "cluster not found: nothing to gate"}, nil
		}
		return gate.HookVerdict{}, fmt.Errorf("reading the Cluster: %w", err)
	}
	if cluster.Annotations[v1alpha1.SkipAnnotation] == "true" {
		return gate.HookVerdict{Allow: true, Message: "not gated: the cluster opts out with " + v1alpha1.SkipAnnotation}, nil
	}
	locator := h.Locator
	if locator == nil {
		locator = scope.CAPOLocator{}
	}
	target, gated, err := locator.Locate(ctx, h.Client, &cluster)
	switch {
	case err != nil:
		return gate.HookVerdict{}, fmt.Errorf("finding the cluster's load balancer: %w", err)
	case !gated:
		return gate.HookVerdict{Allow: true, Message: "not gated: the cluster's infrastructure is not an OpenStackCluster"}, nil
	case target.NoLoadBalancer != "":
		return gate.HookVerdict{Allow: true, Message: "not gated: " + target.NoLoadBalancer}, nil
	}
	now := h.now()
	var mg v1alpha1.MemberGate
	if err := h.Client.Get(ctx, key, &mg); err != nil {
		if !apierrors.IsNotFound(err) {
			return gate.HookVerdict{}, fmt.Errorf("reading the MemberGate: %w", err)
		}
		// A gated cluster whose MemberGate the controller has not created
		// yet has simply not been observed: never allow on no knowledge.
		return gate.DecideHook(gate.HookInput{Hook: hook, Now: now, Mode: gate.Enforce, MaxAge: h.MaxObservationAge}), nil
	}
	in := HookInput(hook, now, &mg)
	in.MaxAge = h.MaxObservationAge
	return gate.DecideHook(in), nil
}

func (h *Handlers) now() time.Time {
	if h.Clock == nil {
		return time.Now()
	}
	return h.Clock.Now()
}
