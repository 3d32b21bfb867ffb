package harness

import (
	"context"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/conditions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/pkg/memberwait"
)

// Snapshot is one look at a cluster: its control-plane Machines, their
// members in the emulator, and what the gate says.
type Snapshot struct {
	At       time.Time
	Machines []MachineView
	// Serving counts the serving members (ACTIVE and ONLINE) of live
	// control-plane Machines: what the load balancer can send traffic to.
	Serving int
	// Orphans are members whose Machine no longer exists.
	Orphans []MemberView
	// LoadBalancer is the load balancer's provisioning status.
	LoadBalancer string
	// Blocking and Reason are the MemberGate's Blocking condition, its
	// status and message (gated clusters).
	Blocking bool
	Reason   string
	// GateMachines and GateMemberReady are the MemberGate's counts of
	// control-plane Machines and of member-ready ones.
	GateMachines, GateMemberReady int32
}

// MachineView is one control-plane Machine.
type MachineView struct {
	Name     string
	Deleting bool
	// Hooked: it carries the gate's pre-drain hook.
	Hooked bool
	// Ready is CAPI's Ready condition.
	Ready bool
	// Member is its member, nil while it has none.
	Member *MemberView
	// Held is true while the gate holds it; GateReason is its
	// LoadBalancerMemberReady reason.
	Held       bool
	GateReason string
}

// MemberView is a member as the emulator holds it.
type MemberView struct {
	ID, Name, Provisioning, Operating string
	Weight                            int
}

// InRotation is whether the load balancer would send it new connections:
// present, not failed by its monitor, and with a weight that is not 0 —
// or with a weight change still being applied (Octavia shows the new
// weight at once; the amphora takes it when the member is ACTIVE again).
func (m *MemberView) InRotation() bool {
	if m == nil || m.Operating == memberwait.StatusError || m.Operating == memberwait.StatusOffline {
		return false
	}
	return m.Weight > 0 || m.Provisioning == memberwait.StatusPendingUpdate
}

// Serving is whether traffic can reach it: ACTIVE and ONLINE.
func (m *MemberView) Serving() bool {
	return m != nil && m.Provisioning == memberwait.StatusActive && m.Operating == memberwait.StatusOnline
}

// Snapshot reads the Machines and the MemberGate from the manager's cache
// and the members from the emulator's state, without sending it a request,
// so that looking does not change the request counts.
func (c *Cluster) Snapshot(ctx context.Context) (Snapshot, error) {
	var s Snapshot
	reader := c.h.mgr.GetClient()
	var machines clusterv1.MachineList
	if err := reader.List(ctx, &machines, client.InNamespace(c.Namespace),
		client.MatchingLabels{clusterv1.ClusterNameLabel: c.Name}, client.HasLabels{clusterv1.MachineControlPlaneLabel}); err != nil {
		return s, err
	}
	// Stamped between reading the Machines and reading the members, so
	// that what the Machines show (a hook gone) happened before At and what
	// the members show (not serving yet) still held after At: the
	// recorder's figures are then bounds, not estimates.
	s.At = time.Now()
	var mg v1alpha1.MemberGate
	if c.Gated {
		if err := reader.Get(ctx, c.Key(), &mg); err != nil {
			return s, client.IgnoreNotFound(err)
		}
		if c := meta.FindStatusCondition(mg.Status.Conditions, v1alpha1.BlockingCondition); c != nil {
			s.Blocking, s.Reason = c.Status == metav1.ConditionTrue, c.Message
		}
		s.GateMachines, s.GateMemberReady = ptr.Deref(mg.Status.Replicas, 0), ptr.Deref(mg.Status.MemberReadyReplicas, 0)
	}
	members := c.members()
	if lb, ok := c.Cloud.Server.LoadBalancer(c.Cloud.LoadBalancerID); ok {
		s.LoadBalancer = lb.ProvisioningStatus
	}
	claimed := map[string]bool{}
	for _, m := range machines.Items {
		v := MachineView{Name: m.Name, Deleting: !m.DeletionTimestamp.IsZero(),
			Hooked: m.Annotations[v1alpha1.PreDrainHookAnnotation] != "", Ready: conditions.IsTrue(&m, clusterv1.ReadyCondition)}
		infra := m.Spec.InfrastructureRef.Name
		if mm, ok := members[MemberName(c.Cloud.LoadBalancerName, APIServerPort, infra)]; ok && infra != "" {
			v.Member = &mm
			claimed[mm.ID] = true
			if mm.Serving() {
				s.Serving++
			}
		}
		if cond := conditions.Get(&m, v1alpha1.MemberReadyCondition); cond != nil {
			v.GateReason = cond.Reason
		}
		for _, row := range mg.Status.Machines {
			if row.Name == m.Name {
				v.Held = row.Held
			}
		}
		s.Machines = append(s.Machines, v)
	}
	for _, mm := range members {
		if !claimed[mm.ID] {
			s.Orphans = append(s.Orphans, mm)
		}
	}
	slices.SortFunc(s.Machines, func(a, b MachineView) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(s.Orphans, func(a, b MemberView) int { return strings.Compare(a.Name, b.Name) })
	return s, nil
}

// members returns the pool's members by name.
func (c *Cluster) members() map[string]MemberView {
	out := map[string]MemberView{}
	pool, ok := c.Cloud.Server.Pool(c.Cloud.PoolID)
	if !ok {
		return out
	}
	for _, ref := range pool.Members {
		if m, ok := c.Cloud.Server.Member(ref.ID); ok {
			out[m.Name] = MemberView{ID: m.ID, Name: m.Name, Provisioning: m.ProvisioningStatus, Operating: m.OperatingStatus, Weight: m.Weight}
		}
	}
	return out
}
