package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	infrav1 "sigs.k8s.io/cluster-api-provider-openstack/api/v1beta1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/annotations"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/gate/cycle"
	"github.com/membergate/membergate/pkg/memberwait"
)

// Resync is how often a cluster is looked at when nothing asks for sooner.
const Resync = gate.Resync

// GateReconciler gates the control-plane rollouts of CAPO clusters.
type GateReconciler struct {
	Client client.Client
	// APIReader reads the MemberGate straight from the API server. Its
	// status is the gate's memory across reconciles and restarts (when a
	// hold began, each member's statuses and since when), and a cached copy
	// can predate this controller's own last write: progress read from it
	// would begin a hold again or, after a flap, credit a settle window
	// across statuses that were not there. SetupWithManager sets the
	// manager's; nil means Client.
	APIReader client.Reader
	Recorder  events.EventRecorder
	Sources   SourceFactory
	// Locator finds a Cluster's API server load balancer; nil means CAPO's
	// OpenStackCluster.
	Locator LoadBalancerLocator
	// Clock defaults to the real clock.
	Clock clock.PassiveClock
	// Rand, when set, is memberwait's jitter source (tests make schedules
	// reproducible with it).
	Rand func() float64

	snapshots snapshotCache
	// Networks, when set, gives the Neutron (and Octavia) clients of the
	// security-group enforcement and the member diagnosis (see
	// docs/secgroups.md); nil turns both off.
	Networks NetworkFactory

	secgroups sgCaches
}

// +kubebuilder:rbac:groups=cluster.x-k8s.io,resources=clusters,verbs=get;list;watch
// +kubebuilder:rbac:groups=cluster.x-k8s.io,resources=machines,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=cluster.x-k8s.io,resources=machines/status,verbs=patch
// +kubebuilder:rbac:groups=controlplane.cluster.x-k8s.io,resources=kubeadmcontrolplanes;rke2controlplanes;k0scontrolplanes;k0smotroncontrolplanes;taloscontrolplanes;kthreescontrolplanes;microk8scontrolplanes,verbs=get
// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=openstackclusters,verbs=get;list;watch
// +kubebuilder:rbac:groups=membergate.io,resources=membergates,verbs=get;list;watch;create;patch;update
// +kubebuilder:rbac:groups=membergate.io,resources=membergates/status,verbs=patch;update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// SetupWithManager registers the controller: Clusters, and the Machines,
// OpenStackClusters and MemberGates that belong to them.
func (r *GateReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	toCluster := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []ctrl.Request {
		name := o.GetLabels()[clusterv1.ClusterNameLabel]
		if name == "" {
			return nil
		}
		return []ctrl.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: name}}}
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("membergate").
		For(&clusterv1.Cluster{}).
		Owns(&v1alpha1.MemberGate{}).
		Watches(&clusterv1.Machine{}, toCluster, builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
			_, cp := o.GetLabels()[clusterv1.MachineControlPlaneLabel]
			return cp
		}))).
		Watches(&infrav1.OpenStackCluster{}, toCluster).
		Complete(r)
}

// Reconcile observes one Cluster once and applies the gate's decision.
func (r *GateReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	logger := log.FromContext(ctx)
	var cluster clusterv1.Cluster
	if err := r.Client.Get(ctx, req.NamespacedName, &cluster); err != nil {
		if apierrors.IsNotFound(err) {
			return r.cleanupWithoutCluster(ctx, req.NamespacedName)
		}
		return ctrl.Result{}, err
	}
	target, gated, err := r.locator().Locate(ctx, r.Client, &cluster)
	if err != nil || !gated {
		return ctrl.Result{}, err
	}
	mg, err := r.memberGate(ctx, &cluster)
	if err != nil {
		return ctrl.Result{}, err
	}
	now := r.Clock.Now()
	in := gate.Input{Now: now, Policy: policyOf(mg), Paused: annotations.IsPaused(&cluster, &cluster)}
	if cluster.Annotations[v1alpha1.SkipAnnotation] == "true" || target.NoLoadBalancer != "" {
		in.Policy.Mode = gate.Disabled
	}
	in.Deleting = !cluster.DeletionTimestamp.IsZero()
	var cpErr error
	if !in.Deleting && !in.Paused {
		in.Deleting, cpErr = r.controlPlaneDeleting(ctx, &cluster)
		if cpErr != nil {
			logger.Info("cannot tell whether the control plane is deleting; gating as usual", "error", cpErr.Error())
		}
	}
	machines, err := r.controlPlaneMachines(ctx, &cluster)
	if err != nil {
		return ctrl.Result{}, err
	}
	opts := waitOptions(mg)
	opts.Rand = r.Rand
	in.LoadBalancer.ID = target.LoadBalancerID
	in.LoadBalancer.NotCreated = target.LoadBalancerID == "" && target.NoLoadBalancer == ""
	mem := memoryOf(mg)
	out := cycle.Run(ctx, cycle.Cycle{Input: in, Machines: candidates(machines, target.LoadBalancerName), Options: opts, Memory: mem,
		Observer: &octaviaObserver{r: r, target: target, machines: machines}, Clock: r.Clock.Now})
	sg := r.securityGroups(ctx, sgInput{cluster: &cluster, mg: mg, target: target, machines: machines, snap: out.Snapshot, verdicts: out.Verdicts,
		now: r.Clock.Now()}, in.Paused)
	notes := statusNotes{noLoadBalancer: target.NoLoadBalancer, controlPlane: cpErr, observedAt: out.ObservedAt}
	if err := r.apply(ctx, &cluster, mg, machines, out, mem, sg, notes); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.releaseSecurityGroups(ctx, mg, sg); err != nil {
		return ctrl.Result{}, err
	}
	if c := meta.FindStatusCondition(mg.Status.Conditions, v1alpha1.BlockingCondition); out.Decision.Blocking && c != nil {
		logger.Info("holding the control-plane rollout", "cluster", cluster.Name, "reason", c.Message)
	}
	return ctrl.Result{RequeueAfter: out.RequeueAfter(r.Clock.Now())}, nil
}

// observe reads the load balancer's status tree once.
func (r *GateReconciler) observe(ctx context.Context, target Target) (*memberwait.Snapshot, error) {
	src, err := r.Sources.Source(ctx, target.Identity)
	if err != nil {
		return nil, err
	}
	snap, err := src.Observe(ctx, memberwait.Request{LoadBalancerID: target.LoadBalancerID, LoadBalancerStatus: true})
	if err != nil {
		return nil, err
	}
	if !snap.Found {
		return snap, fmt.Errorf("load balancer %s not found", target.LoadBalancerID)
	}
	return snap, nil
}

// reader is where the MemberGate is read from: see APIReader.
func (r *GateReconciler) reader() client.Reader {
	if r.APIReader != nil {
		return r.APIReader
	}
	return r.Client
}

func (r *GateReconciler) locator() LoadBalancerLocator {
	if r.Locator != nil {
		return r.Locator
	}
	return CAPOLocator{}
}

// candidates are the Machines as the cycle judges them, each member found
// by memberOf.
func candidates(machines []clusterv1.Machine, lbName string) []cycle.Machine {
	out := make([]cycle.Machine, 0, len(machines))
	for i := range machines {
		m := &machines[i]
		gm := gate.Machine{Name: m.Name, Deleting: !m.DeletionTimestamp.IsZero(), HasNode: m.Status.NodeRef.IsDefined(),
			HasHook: m.Annotations[v1alpha1.PreDrainHookAnnotation] != "", ManualRelease: m.Annotations[v1alpha1.ReleaseAnnotation]}
		out = append(out, cycle.Machine{Machine: gm,
			Find: func(p memberwait.PoolStatus) (memberwait.MemberStatus, bool) { return memberOf(m, lbName, p) }})
	}
	return out
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

// setCondition sets a condition on the MemberGate.
func setCondition(mg *v1alpha1.MemberGate, t string, ok bool, reason, msg string) {
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	meta.SetStatusCondition(&mg.Status.Conditions, metav1.Condition{Type: t, Status: status, Reason: reason, Message: msg, ObservedGeneration: mg.Generation})
}
