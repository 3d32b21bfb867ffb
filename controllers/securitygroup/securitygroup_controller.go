package securitygroup

import (
	"context"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	infrav1 "sigs.k8s.io/cluster-api-provider-openstack/api/v1beta1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/annotations"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/internal/cloud/scope"
	"github.com/membergate/membergate/internal/clusterobjects"
	"github.com/membergate/membergate/internal/statuspatch"
)

// SecurityGroupInterval is how often a cluster's groups are read when
// nothing it depends on changed and the last pass was not settled (a
// problem, a failing member); a settled cluster's are read every
// Reconciler.IdleResync. A rule of ours deleted by hand is repaired (or,
// in Audit, reported) within the one that applies. A change of the
// MemberGate's spec, of the members or of the Machines' addresses triggers
// a pass at once.
const SecurityGroupInterval = time.Minute

// DiagnosisInterval is how often a member that keeps failing is diagnosed
// again: its groups rarely change faster, and every diagnosis is an event.
const DiagnosisInterval = 5 * time.Minute

// Resync is how often a cluster that is not settled is looked at when
// nothing it watches changes, to see whether a pass or a diagnosis is due;
// a look that finds neither due asks OpenStack nothing. A settled cluster
// is looked at when its next pass is due, and not in between.
const Resync = 30 * time.Second

// ownedStatus is the part of the MemberGate status this reconciler writes;
// the rest is the gate's.
var ownedStatus = statuspatch.Owner{
	Fields: func(s v1alpha1.MemberGateStatus) v1alpha1.MemberGateStatus {
		return v1alpha1.MemberGateStatus{SecurityGroups: s.SecurityGroups}
	},
	Conditions: []string{v1alpha1.SecurityGroupsReadyCondition},
}

// Reconciler enforces (or, in Audit, reports) the security-group rules
// that admit a gated cluster's API server load balancer to its nodes, and
// diagnoses the members that fail their health checks (docs/secgroups.md).
// It works from the members the gate publishes in the MemberGate status
// and writes status.securityGroups and the SecurityGroupsReady condition
// only.
type Reconciler struct {
	Client client.Client
	// APIReader reads the MemberGate straight from the API server: its
	// status holds what the last pass found (the rules it owns, the
	// diagnoses) and the members the gate last saw, and a cached copy can
	// predate either write. SetupWithManager sets the manager's; nil means
	// Client.
	APIReader client.Reader
	Recorder  events.EventRecorder
	// Networks gives the Octavia and Neutron clients of an identity.
	Networks scope.NetworkFactory
	// Locator finds a Cluster's API server load balancer; nil means CAPO's
	// OpenStackCluster, as for the gate.
	Locator scope.LoadBalancerLocator
	// MinSourcePrefixV4 and MinSourcePrefixV6 are the widest sources a rule
	// may admit unless a MemberGate sets allowAnywhere (the manager's
	// --min-source-prefix-v4/-v6); zero means secgroup's defaults.
	MinSourcePrefixV4, MinSourcePrefixV6 int
	// ManagementCluster names this management cluster in the rules' marks
	// (the manager's --management-cluster-id: by default the UID of its
	// kube-system namespace). Empty marks rules as before it was named.
	ManagementCluster string
	// Clock defaults to the real clock.
	Clock clock.PassiveClock
	// Concurrency is how many MemberGates are reconciled at once (the
	// manager's --concurrency); zero means one.
	Concurrency int
	// IdleResync is how often a settled cluster's groups are read (the
	// manager's --idle-resync, as for the gate's idle looks), plus the
	// same jitter per cluster: its last pass had no problem, no member
	// fails, and nothing it watches changed. Zero means
	// SecurityGroupInterval.
	IdleResync time.Duration
	// ClusterSelector, when set, limits the reconciler to the Clusters
	// whose labels it matches (the manager's --cluster-selector): another
	// shard's are never read from OpenStack nor written.
	ClusterSelector labels.Selector

	caches caches
}

// +kubebuilder:rbac:groups=cluster.x-k8s.io,resources=clusters,verbs=get;list;watch
// +kubebuilder:rbac:groups=cluster.x-k8s.io,resources=machines,verbs=get;list;watch
// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=openstackclusters,verbs=get;list;watch
// +kubebuilder:rbac:groups=membergate.io,resources=membergates,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=membergate.io,resources=membergates/status,verbs=patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// ReconcileTimeout bounds one reconcile: a pass's few Octavia and Neutron
// requests (each bounded by openstackauth.RequestTimeout) and its writes.
const ReconcileTimeout = 30 * time.Second

// SetupWithManager registers the controller: MemberGates (their policy,
// the members the gate publishes, their deletion), and the Clusters,
// control-plane Machines and OpenStackClusters they belong to.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("membergate-securitygroups").
		// As the gate: a hung cloud holds one worker, for one deadline.
		WithOptions(controller.Options{MaxConcurrentReconciles: max(1, r.Concurrency), ReconciliationTimeout: ReconcileTimeout}).
		For(&v1alpha1.MemberGate{}).
		Watches(&clusterv1.Cluster{}, &handler.EnqueueRequestForObject{}).
		Watches(&clusterv1.Machine{}, clusterobjects.EnqueueLabelledCluster, builder.WithPredicates(clusterobjects.ControlPlaneOnly)).
		Watches(&infrav1.OpenStackCluster{}, clusterobjects.EnqueueLabelledCluster).
		Complete(r)
}

// Reconcile runs one security-group pass for a Cluster (the MemberGate of
// the same name): a cleanup, or, when due, the groups read and converged
// on, and the failing members diagnosed.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var cluster clusterv1.Cluster
	if err := r.Client.Get(ctx, req.NamespacedName, &cluster); err != nil {
		if apierrors.IsNotFound(err) {
			return r.cleanupWithoutCluster(ctx, req.NamespacedName)
		}
		return ctrl.Result{}, err
	}
	if r.ClusterSelector != nil && !r.ClusterSelector.Matches(labels.Set(cluster.Labels)) {
		return ctrl.Result{}, nil
	}
	target, gated, err := r.locator().Locate(ctx, r.Client, &cluster)
	if err != nil || !gated {
		return ctrl.Result{}, err
	}
	if annotations.IsPaused(&cluster, &cluster) {
		return ctrl.Result{}, nil
	}
	mg := &v1alpha1.MemberGate{}
	if err := r.reader().Get(ctx, req.NamespacedName, mg); err != nil {
		// The gate creates it; its creation brings the cluster back here.
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	machines, err := clusterobjects.ControlPlaneMachines(ctx, r.Client, &cluster)
	if err != nil {
		return ctrl.Result{}, err
	}
	helper := statuspatch.NewHelper(mg, r.Client, r.reader(), ownedStatus)
	members, key := gateMembers(mg)
	out := r.reconcileGroups(ctx, input{cluster: &cluster, mg: mg, target: target, machines: machines, members: members, membersKey: key,
		now: r.Clock.Now()})
	out.writeStatus(mg)
	if err := helper.Patch(ctx, mg); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.releaseFinalizer(ctx, mg, out); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: out.requeueAfter()}, nil
}

// reader is where the MemberGate is read from: see APIReader.
func (r *Reconciler) reader() client.Reader {
	if r.APIReader != nil {
		return r.APIReader
	}
	return r.Client
}

func (r *Reconciler) locator() scope.LoadBalancerLocator {
	if r.Locator != nil {
		return r.Locator
	}
	return scope.CAPOLocator{}
}

// workerMachines lists the cluster's Machines that are not control plane.
func (r *Reconciler) workerMachines(ctx context.Context, c *clusterv1.Cluster) ([]clusterv1.Machine, error) {
	var list clusterv1.MachineList
	if err := r.Client.List(ctx, &list, client.InNamespace(c.Namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: c.Name}); err != nil {
		return nil, err
	}
	out := slices.DeleteFunc(list.Items, func(m clusterv1.Machine) bool {
		_, cp := m.Labels[clusterv1.MachineControlPlaneLabel]
		return cp || !m.DeletionTimestamp.IsZero()
	})
	slices.SortFunc(out, func(a, b clusterv1.Machine) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
