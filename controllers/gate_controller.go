package controllers

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	infrav1 "sigs.k8s.io/cluster-api-provider-openstack/api/v1beta1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/internal/cloud/scope"
	"github.com/membergate/membergate/internal/clusterobjects"
	"github.com/membergate/membergate/internal/metrics"
	"github.com/membergate/membergate/pkg/gate"
)

// Resync is how often a cluster that is not idle is looked at when nothing
// asks for sooner.
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
	// Sources reads load balancers' status trees with an identity.
	Sources scope.SourceFactory
	// Locator finds a Cluster's API server load balancer; nil means CAPO's
	// OpenStackCluster.
	Locator scope.LoadBalancerLocator
	// Clock defaults to the real clock.
	Clock clock.PassiveClock
	// Rand, when set, is memberwait's jitter source (tests make schedules
	// reproducible with it).
	Rand func() float64
	// Concurrency is how many clusters are reconciled at once (the
	// manager's --concurrency); zero means one.
	Concurrency int
	// ClusterSelector, when set, limits the gate to the Clusters whose
	// labels it matches (the manager's --cluster-selector, for sharding):
	// any other is never reconciled, as if not gated.
	ClusterSelector labels.Selector
	// IdleResync is how often an idle cluster (gate.Idle) is looked at,
	// jittered per cluster (the manager's --idle-resync); zero means
	// gate.DefaultIdleResync.
	IdleResync time.Duration

	snapshots      snapshotCache
	inflight       inflight
	insecureWarned sync.Map
}

// +kubebuilder:rbac:groups=cluster.x-k8s.io,resources=clusters,verbs=get;list;watch
// +kubebuilder:rbac:groups=cluster.x-k8s.io,resources=machines,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=cluster.x-k8s.io,resources=machines/status,verbs=patch
// +kubebuilder:rbac:groups=controlplane.cluster.x-k8s.io,resources=kubeadmcontrolplanes;rke2controlplanes;k0scontrolplanes;k0smotroncontrolplanes;taloscontrolplanes;kthreescontrolplanes;microk8scontrolplanes,verbs=get
// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=openstackclusters,verbs=get;list;watch
// +kubebuilder:rbac:groups=membergate.io,resources=membergates,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=membergate.io,resources=membergates/status,verbs=patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// ReconcileTimeout bounds one reconcile: a few OpenStack requests (each
// bounded by openstackauth.RequestTimeout) and a few API-server writes.
const ReconcileTimeout = 30 * time.Second

// SetupWithManager registers the controller: Clusters, and the Machines,
// OpenStackClusters and MemberGates that belong to them.
func (r *GateReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("membergate").
		// Several workers and a deadline each: a cloud that is slow or
		// hangs holds one worker for at most ReconcileTimeout, never the
		// decisions of clusters on other clouds.
		WithOptions(controller.Options{MaxConcurrentReconciles: max(1, r.Concurrency), ReconciliationTimeout: ReconcileTimeout}).
		// An idle cluster is looked at on the events below and every idle
		// resync: each watch lets through what the decision reads and drops
		// status-only noise (conditions that CAPI, CAPO, the
		// security-group reconciler and the gate itself write), which
		// would only wake a reconcile that reuses its observation.
		For(&clusterv1.Cluster{}, builder.WithPredicates(r.selected(), metadataOrSpecChanged)).
		Owns(&v1alpha1.MemberGate{}, builder.WithPredicates(metadataOrSpecChanged)).
		Watches(&clusterv1.Machine{}, clusterobjects.EnqueueLabelledCluster, builder.WithPredicates(clusterobjects.ControlPlaneOnly, machineChanged)).
		Watches(&infrav1.OpenStackCluster{}, clusterobjects.EnqueueLabelledCluster, builder.WithPredicates(loadBalancerChanged)).
		Complete(r)
}

// metadataOrSpecChanged admits creations, deletions and updates of the
// spec (the generation; a deletion's timestamp raises it too), labels or
// annotations (pause, skip, manual release).
var metadataOrSpecChanged = predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, predicate.LabelChangedPredicate{})

// machineChanged admits what a control-plane Machine's decision reads
// besides its spec and metadata: its addresses (how its member is found)
// and its Node (whether it must serve).
var machineChanged = predicate.Or(metadataOrSpecChanged, predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	o, ok1 := e.ObjectOld.(*clusterv1.Machine)
	n, ok2 := e.ObjectNew.(*clusterv1.Machine)
	return !ok1 || !ok2 || !equality.Semantic.DeepEqual(o.Status.Addresses, n.Status.Addresses) || o.Status.NodeRef != n.Status.NodeRef
}})

// loadBalancerChanged admits, besides spec and metadata, a change of the
// API server load balancer CAPO records in the OpenStackCluster's status.
var loadBalancerChanged = predicate.Or(metadataOrSpecChanged, predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	o, ok1 := e.ObjectOld.(*infrav1.OpenStackCluster)
	n, ok2 := e.ObjectNew.(*infrav1.OpenStackCluster)
	return !ok1 || !ok2 || !equality.Semantic.DeepEqual(o.Status.APIServerLoadBalancer, n.Status.APIServerLoadBalancer)
}})

// Reconcile observes one Cluster once and applies the gate's decision: the
// phases run in order on one scope, and the MemberGate status they leave is
// written once, on the way out.
func (r *GateReconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, reterr error) {
	r.inflight.begin(req, r.clock().Now())
	defer r.inflight.end(req)
	s, err := r.newScope(ctx, req.NamespacedName)
	if err != nil || s == nil {
		if err == nil {
			r.snapshots.forget(req.NamespacedName)
			metrics.ForgetCluster(req.Namespace, req.Name)
			r.forgetWarnings(req.NamespacedName)
		}
		return ctrl.Result{}, err
	}
	defer func() {
		if err := r.patchMemberGate(ctx, s); err != nil {
			reterr = kerrors.NewAggregate([]error{reterr, err})
		}
	}()
	phases := []func(context.Context, *gateScope) error{
		r.reconcileDecision,
		r.reconcileDrain,
		r.reconcileMachines,
		r.reconcileRemediation,
		r.reconcileEvents,
		r.reconcileStatus,
	}
	// Every phase runs whatever the others did: a Machine that cannot be
	// patched must not keep the others, the events or the status unwritten.
	var errs []error
	for _, phase := range phases {
		if err := phase(ctx, s); err != nil {
			errs = append(errs, err)
		}
	}
	if err := kerrors.NewAggregate(errs); err != nil {
		return ctrl.Result{}, err
	}
	out := s.outcome
	if c := meta.FindStatusCondition(s.memberGate.Status.Conditions, v1alpha1.BlockingCondition); out.Decision.Blocking && c != nil {
		log.FromContext(ctx).Info("holding the control-plane rollout", "cluster", s.cluster.Name, "reason", c.Message)
	}
	after := out.RequeueAfter(r.Clock.Now())
	if d := s.remediationRequeue; d > 0 && d < after {
		after = d
	}
	return ctrl.Result{RequeueAfter: after}, nil
}

// forgetWarnings drops the insecure-TLS warnings given for a cluster that
// is gone or no longer gated: at 1,000 clusters created and deleted over a
// manager's life, they would be all its memory keeps of them.
func (r *GateReconciler) forgetWarnings(cluster types.NamespacedName) {
	prefix := cluster.String() + " "
	r.insecureWarned.Range(func(k, _ any) bool {
		if strings.HasPrefix(k.(string), prefix) {
			r.insecureWarned.Delete(k)
		}
		return true
	})
}

// reader is where the MemberGate is read from: see APIReader.
func (r *GateReconciler) reader() client.Reader {
	if r.APIReader != nil {
		return r.APIReader
	}
	return r.Client
}

func (r *GateReconciler) locator() scope.LoadBalancerLocator {
	if r.Locator != nil {
		return r.Locator
	}
	return scope.CAPOLocator{}
}

// StuckAfter is how long one reconcile may run before the liveness check
// fails: twice its deadline. A reconcile past its deadline that has not
// returned ignores its context — a bug or a hang below it — and holds a
// worker for good; restarting the pod is the remedy.
const StuckAfter = 2 * ReconcileTimeout

// inflight tracks the reconciles under way and when each began.
type inflight struct {
	mu    sync.Mutex
	since map[ctrl.Request]time.Time
}

func (f *inflight) begin(req ctrl.Request, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.since == nil {
		f.since = map[ctrl.Request]time.Time{}
	}
	f.since[req] = now
}

func (f *inflight) end(req ctrl.Request) {
	f.mu.Lock()
	delete(f.since, req)
	f.mu.Unlock()
}

// Healthz is the manager's liveness check: it fails while a reconcile has
// run for longer than StuckAfter. A replica that is not the leader runs
// none and stays live; an idle leader too.
func (r *GateReconciler) Healthz(_ *http.Request) error {
	r.inflight.mu.Lock()
	defer r.inflight.mu.Unlock()
	now := r.clock().Now()
	for req, since := range r.inflight.since {
		if d := now.Sub(since); d > StuckAfter {
			return fmt.Errorf("the reconcile of cluster %s has run for %s, past its %s deadline: the controller is stuck", req.NamespacedName, d.Round(time.Second), ReconcileTimeout)
		}
	}
	return nil
}

// selected admits the events of the Clusters of this shard.
func (r *GateReconciler) selected() predicate.Predicate {
	return predicate.NewPredicateFuncs(func(o client.Object) bool { return r.selects(o) })
}

// selects reports whether a Cluster belongs to this manager's shard.
func (r *GateReconciler) selects(o client.Object) bool {
	return r.ClusterSelector == nil || r.ClusterSelector.Matches(labels.Set(o.GetLabels()))
}

func (r *GateReconciler) idleResync() time.Duration {
	if r.IdleResync > 0 {
		return r.IdleResync
	}
	return gate.DefaultIdleResync
}

func (r *GateReconciler) clock() clock.PassiveClock {
	if r.Clock == nil {
		return clock.RealClock{}
	}
	return r.Clock
}
