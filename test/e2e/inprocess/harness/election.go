package harness

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// LeaseNamespace holds the Leases of the gates whose replicas run with
// leader election, as the manager's namespace holds its Lease.
const LeaseNamespace = "membergate-system"

// leaderElectionID is cmd/manager's LeaderElectionID, the Lease's name.
const leaderElectionID = "membergate.membergate.io"

// LeaderElection is how the replicas of a gate take turns, as cmd/manager's
// replicas do: controller-runtime's leader election on a Lease, the
// GateReconciler running in the leader only, the cache in every replica.
type LeaderElection struct {
	// LeaseDuration, RenewDeadline and RetryPeriod are the manager's
	// options of the same names. The Lease records whole seconds.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// ReleaseOnCancel makes a replica that is stopped give its Lease up
	// (LeaderElectionReleaseOnCancel), as a graceful shutdown would; without
	// it, a killed leader keeps the Lease until it expires, as a crashed pod
	// does.
	ReleaseOnCancel bool
}

// DefaultLeaderElection is controller-runtime's default timing, which
// cmd/manager runs with (it sets none of the three).
var DefaultLeaderElection = LeaderElection{LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second}

// leaderElection is one replica's election: the shared timing, the Lease,
// and the replica's identity.
type leaderElection struct {
	LeaderElection
	lease    types.NamespacedName
	identity string
}

// StartGateReplicas starts n processes of a new gate named name, each a
// manager of its own with a GateReconciler for the gate's clusters (see
// Gate), that elect their leader on the gate's Lease (Harness.Lease): only
// the leader's GateReconciler reconciles, the others' caches run. Replica
// i's identity is "<name>-<i>"; WaitLeader tells which one leads.
func (h *Harness) StartGateReplicas(ctx context.Context, name string, n int, le LeaderElection) ([]*Gate, error) {
	if name == "" || n < 1 {
		return nil, fmt.Errorf("replicas need a gate name and at least one replica, got %q and %d", name, n)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: LeaseNamespace}}
	if err := h.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("creating namespace %s: %w", LeaseNamespace, err)
	}
	gs := make([]*Gate, 0, n)
	for i := range n {
		gs = append(gs, &Gate{Name: name, Replica: fmt.Sprintf("%s-%d", name, i), h: h, election: &le})
	}
	return h.startGates(name, gs)
}

// leaderElection is the process's election; nil without leader election.
func (g *Gate) leaderElection() *leaderElection {
	if g.election == nil {
		return nil
	}
	return &leaderElection{LeaderElection: *g.election, lease: leaseOf(g.Name), identity: g.Replica}
}

// leaseOf is where the replicas of the gate named name elect their leader.
func leaseOf(name string) types.NamespacedName {
	return types.NamespacedName{Namespace: LeaseNamespace, Name: name + "." + leaderElectionID}
}

// lock is the Lease lock controller-runtime would build
// (leaderelection.NewResourceLock), with the replica's identity as holder
// instead of a host name and a random suffix, so that the Lease says which
// replica leads. Its requests go through cfg, the process's own wire.
func (le *leaderElection) lock(cfg *rest.Config) (resourcelock.Interface, error) {
	cfg = rest.AddUserAgent(rest.CopyConfig(cfg), "leader-election")
	// As controller-runtime does: one hung request must not cost the lease.
	cfg.Timeout = max(le.RenewDeadline/2, time.Second)
	core, err := corev1client.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	coordination, err := coordinationv1client.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return resourcelock.New(resourcelock.LeasesResourceLock, le.lease.Namespace, le.lease.Name, core, coordination,
		resourcelock.ResourceLockConfig{Identity: le.identity})
}

// LeaseRecord is what a gate's Lease says.
type LeaseRecord struct {
	// Holder is the leading replica's identity (Gate.Replica); "" once a
	// leader released the Lease.
	Holder string
	// Renewed is when the holder last renewed the Lease.
	Renewed time.Time
	// Transitions counts the changes of leader.
	Transitions int32
}

// Lease reads the Lease of the gate named name from the API server.
func (h *Harness) Lease(ctx context.Context, name string) (LeaseRecord, error) {
	var l coordinationv1.Lease
	if err := h.Client.Get(ctx, leaseOf(name), &l); err != nil {
		return LeaseRecord{}, err
	}
	var r LeaseRecord
	if l.Spec.HolderIdentity != nil {
		r.Holder = *l.Spec.HolderIdentity
	}
	if l.Spec.RenewTime != nil {
		r.Renewed = l.Spec.RenewTime.Time
	}
	if l.Spec.LeaseTransitions != nil {
		r.Transitions = *l.Spec.LeaseTransitions
	}
	return r, nil
}

// Leads reports whether the process runs and leads its gate's replicas.
func (g *Gate) Leads() bool {
	elected := g.Elected()
	if elected == nil {
		return false
	}
	select {
	case <-elected:
		return true
	default:
		return false
	}
}

// WaitLeader waits until one of the replicas leads, as its manager says
// (Gate.Elected) and as the Lease says, and returns it.
func (h *Harness) WaitLeader(ctx context.Context, replicas []*Gate) (*Gate, error) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, g := range replicas {
			if !g.Leads() {
				continue
			}
			l, err := h.Lease(ctx, g.Name)
			if err != nil {
				return nil, err
			}
			if l.Holder != g.Replica {
				return nil, fmt.Errorf("replica %s leads, but the Lease names %q", g.Replica, l.Holder)
			}
			return g, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no replica leads: %w", ctx.Err())
		case <-tick.C:
		}
	}
}
