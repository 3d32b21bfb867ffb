package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/annotations"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/internal/cloud/scope"
	"github.com/membergate/membergate/internal/clusterobjects"
	"github.com/membergate/membergate/internal/statuspatch"
	"github.com/membergate/membergate/pkg/gate/cycle"
)

// gateScope is one reconcile of one gated Cluster: what was read of it,
// the decision the phases make on it, and the MemberGate whose status the
// deferred patch writes.
type gateScope struct {
	cluster *clusterv1.Cluster
	target  scope.APIServerLoadBalancer
	// memberGate is read uncached (see GateReconciler.APIReader): its
	// status is the gate's memory.
	memberGate  *v1alpha1.MemberGate
	patchHelper *statuspatch.Helper
	// machines are the control-plane Machines, by name.
	machines []clusterv1.Machine
	now      time.Time
	paused   bool
	// controlPlaneDeleting says the control plane object is being deleted;
	// controlPlaneErr why that could not be told.
	controlPlaneDeleting bool
	controlPlaneErr      error

	// memory is the gate's memory the decision was made from, read from
	// memberGate's status; outcome is the decision.
	memory  cycle.Memory
	outcome cycle.Outcome
	// remediationRequeue is when member remediation needs a look (0: not).
	remediationRequeue time.Duration
}

// newScope reads what one reconcile works from: the Cluster, where its load
// balancer is, its MemberGate (created with defaults if missing), its
// control plane's deletion and its control-plane Machines. nil, with no
// error, when the Cluster is gone or not gated.
func (r *GateReconciler) newScope(ctx context.Context, key types.NamespacedName) (*gateScope, error) {
	var cluster clusterv1.Cluster
	if err := r.Client.Get(ctx, key, &cluster); err != nil || !r.selects(&cluster) {
		// Another shard's Cluster is none of this manager's business.
		return nil, client.IgnoreNotFound(err)
	}
	target, gated, err := r.locator().Locate(ctx, r.Client, &cluster)
	if err != nil || !gated {
		return nil, err
	}
	mg, err := r.memberGate(ctx, &cluster)
	if err != nil {
		return nil, err
	}
	s := &gateScope{cluster: &cluster, target: target, memberGate: mg, patchHelper: statuspatch.NewHelper(mg, r.Client, r.reader(), gateStatus),
		now: r.Clock.Now(), paused: annotations.IsPaused(&cluster, &cluster)}
	if cluster.DeletionTimestamp.IsZero() && !s.paused {
		s.controlPlaneDeleting, s.controlPlaneErr = r.controlPlaneDeleting(ctx, &cluster)
		if s.controlPlaneErr != nil {
			log.FromContext(ctx).Info("cannot tell whether the control plane is deleting; gating as usual", "error", s.controlPlaneErr.Error())
		}
	}
	if s.machines, err = clusterobjects.ControlPlaneMachines(ctx, r.Client, &cluster); err != nil {
		return nil, err
	}
	return s, nil
}

// statusNotes are what the status says beyond the decision.
func (s *gateScope) statusNotes() statusNotes {
	return statusNotes{noLoadBalancer: s.target.NoLoadBalancer, controlPlane: s.controlPlaneErr, observedAt: s.outcome.ObservedAt}
}

// memberGate returns the Cluster's MemberGate, creating it with defaults.
func (r *GateReconciler) memberGate(ctx context.Context, cluster *clusterv1.Cluster) (*v1alpha1.MemberGate, error) {
	mg := &v1alpha1.MemberGate{}
	err := r.reader().Get(ctx, types.NamespacedName{Namespace: cluster.Namespace, Name: cluster.Name}, mg)
	if err == nil || !apierrors.IsNotFound(err) {
		return mg, err
	}
	mg = &v1alpha1.MemberGate{
		ObjectMeta: metav1.ObjectMeta{Namespace: cluster.Namespace, Name: cluster.Name,
			Labels: map[string]string{clusterv1.ClusterNameLabel: cluster.Name}},
		Spec: v1alpha1.MemberGateSpec{ClusterName: cluster.Name, Mode: v1alpha1.ModeEnforce, NoMonitorPolicy: v1alpha1.DefaultNoMonitorPolicy},
	}
	// A controller reference, so that Owns(&MemberGate{}) maps a
	// MemberGate's events (a user deleting it, say) to its Cluster.
	if err := controllerutil.SetControllerReference(cluster, mg, r.Client.Scheme()); err != nil {
		return nil, err
	}
	if err := r.Client.Create(ctx, mg); err != nil {
		return nil, fmt.Errorf("creating the MemberGate of cluster %s: %w", cluster.Name, err)
	}
	r.Recorder.Eventf(mg, cluster, corev1.EventTypeNormal, "Created", "Gate", "gating cluster %s with the default policy (Enforce)", cluster.Name)
	return mg, nil
}

// controlPlaneDeleting reports whether the Cluster's control plane object is
// being deleted, whatever its kind (KubeadmControlPlane, RKE2, k0s, Talos):
// only its metadata is read, uncached. When it cannot be read the answer is
// "not deleting" with the error in words: that lookup only speeds up the
// release of hooks at teardown, and CAPI's own deletion of the Cluster is
// seen without it.
func (r *GateReconciler) controlPlaneDeleting(ctx context.Context, c *clusterv1.Cluster) (bool, error) {
	ref := c.Spec.ControlPlaneRef
	if ref.Name == "" {
		return false, nil
	}
	mapping, err := r.Client.RESTMapper().RESTMapping(schema.GroupKind{Group: ref.APIGroup, Kind: ref.Kind})
	if err != nil {
		return false, fmt.Errorf("resolving control plane kind %s: %w", ref.Kind, err)
	}
	cp := &metav1.PartialObjectMetadata{}
	cp.SetGroupVersionKind(mapping.GroupVersionKind)
	if err := r.reader().Get(ctx, types.NamespacedName{Namespace: c.Namespace, Name: ref.Name}, cp); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("reading control plane %s %s: %w", ref.Kind, ref.Name, err)
	}
	return cp.GetDeletionTimestamp() != nil, nil
}
