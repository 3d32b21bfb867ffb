// Package statusview shows what the gate last observed of a cluster — its
// MemberGate status and its control-plane Machines, never OpenStack — as
// the table and JSON of "membergate status", and answers "would deleting
// this Machine now be held?" with the gate's own release decision
// (gate.Decide) on that observation. It does no I/O: the caller reads the
// objects.
package statusview

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/annotations"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/pkg/gate"
)

// Cluster is one gated cluster as the gate last observed it.
type Cluster struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Mode is the MemberGate's: Enforce, Audit or Disabled.
	Mode string `json:"mode"`
	// Paused: the Cluster is paused; the gate changes nothing.
	Paused       bool         `json:"paused,omitempty"`
	LoadBalancer LoadBalancer `json:"loadBalancer"`
	// ObservedAt is when the gate last read Octavia for the cluster; nil
	// when it never has.
	ObservedAt *time.Time `json:"observedAt,omitempty"`
	// Observed and Observation are the MemberGate's Ready condition: false
	// while the gate cannot read what it gates on, and why.
	Observed    bool   `json:"observed"`
	Observation string `json:"observation,omitempty"`
	// Blocking: a deleting Machine is held; WaitingFor is the Blocking
	// condition's message, what the gate waits for.
	Blocking   bool      `json:"blocking"`
	WaitingFor string    `json:"waitingFor,omitempty"`
	Machines   []Machine `json:"machines"`
	// Orphans are members that belong to no control-plane Machine.
	Orphans []Member `json:"orphans,omitempty"`
}

// LoadBalancer is the API server load balancer as last observed.
type LoadBalancer struct {
	ID                 string `json:"id,omitempty"`
	ProvisioningStatus string `json:"provisioningStatus,omitempty"`
	OperatingStatus    string `json:"operatingStatus,omitempty"`
}

// Machine is one control-plane Machine: the object as it is now, with its
// row of the MemberGate status (the gate's last observation of it).
type Machine struct {
	Name string `json:"name"`
	// Phase is CAPI's (Provisioning, Running, Deleting, ...).
	Phase    string `json:"phase,omitempty"`
	Deleting bool   `json:"deleting,omitempty"`
	// Hooked: the Machine carries the gate's pre-drain hook (HookAnnotation),
	// which keeps CAPI from draining and deleting it.
	Hooked bool `json:"hooked"`
	// Held: the gate holds this deleting Machine, since HeldSince;
	// Alerted once the hold lasted past the MemberGate's alertAfter.
	Held      bool       `json:"held,omitempty"`
	HeldSince *time.Time `json:"heldSince,omitempty"`
	Alerted   bool       `json:"alerted,omitempty"`
	// Condition is the gate's LoadBalancerMemberReady condition on the
	// Machine; nil before the gate set it.
	Condition *Condition `json:"condition,omitempty"`
	// Release is the manual-release annotation's value, when set.
	Release string   `json:"release,omitempty"`
	Members []Member `json:"members,omitempty"`
	// Observed: the MemberGate status has a row for the Machine; one it
	// lacks was created after the gate's last observation.
	Observed bool `json:"observed"`
}

// Condition is a condition as the table and JSON show it.
type Condition struct {
	Status  string     `json:"status"`
	Reason  string     `json:"reason,omitempty"`
	Message string     `json:"message,omitempty"`
	Since   *time.Time `json:"since,omitempty"`
}

// Member is one pool member as last observed.
type Member struct {
	Pool               string     `json:"pool"`
	ID                 string     `json:"id,omitempty"`
	Name               string     `json:"name,omitempty"`
	Address            string     `json:"address,omitempty"`
	Port               int32      `json:"port,omitempty"`
	ProvisioningStatus string     `json:"provisioningStatus,omitempty"`
	OperatingStatus    string     `json:"operatingStatus,omitempty"`
	Since              *time.Time `json:"since,omitempty"`
	Serving            bool       `json:"serving"`
	Message            string     `json:"message,omitempty"`
}

// HookAnnotation is the gate's pre-drain hook, as "key=value".
const HookAnnotation = v1alpha1.PreDrainHookAnnotation + "=" + v1alpha1.HookOwner

// FromObjects is the view of a MemberGate, its Cluster (nil when gone) and
// the cluster's control-plane Machines. A Machine the status has a row for
// but that no longer exists is left out: the table shows what is.
func FromObjects(mg *v1alpha1.MemberGate, cluster *clusterv1.Cluster, machines []clusterv1.Machine) Cluster {
	s := &mg.Status
	c := Cluster{Namespace: mg.Namespace, Name: mg.Spec.ClusterName, Mode: string(policyOf(mg).Mode),
		LoadBalancer: LoadBalancer{ID: s.LoadBalancer.ID, ProvisioningStatus: s.LoadBalancer.ProvisioningStatus, OperatingStatus: s.LoadBalancer.OperatingStatus},
		ObservedAt:   timePtr(s.LastChecked)}
	if cluster != nil {
		c.Paused = annotations.IsPaused(cluster, cluster)
	}
	if ready := meta.FindStatusCondition(s.Conditions, v1alpha1.ReadyCondition); ready != nil {
		c.Observed, c.Observation = ready.Status == metav1.ConditionTrue, ready.Message
	}
	if b := meta.FindStatusCondition(s.Conditions, v1alpha1.BlockingCondition); b != nil && b.Status == metav1.ConditionTrue {
		c.Blocking, c.WaitingFor = true, b.Message
	}
	rows := rowsByName(mg)
	for i := range machines {
		m := &machines[i]
		vm := Machine{Name: m.Name, Phase: m.Status.Phase, Deleting: !m.DeletionTimestamp.IsZero(),
			Hooked: m.Annotations[v1alpha1.PreDrainHookAnnotation] != "", Release: m.Annotations[v1alpha1.ReleaseAnnotation]}
		if cond := meta.FindStatusCondition(m.Status.Conditions, v1alpha1.MemberReadyCondition); cond != nil {
			since := cond.LastTransitionTime.Time
			vm.Condition = &Condition{Status: string(cond.Status), Reason: cond.Reason, Message: cond.Message, Since: &since}
		}
		if row, ok := rows[m.Name]; ok {
			vm.Observed = true
			vm.Held, vm.HeldSince, vm.Alerted = row.Held, timePtr(row.HeldSince), row.Alerted
			for _, mem := range row.Members {
				vm.Members = append(vm.Members, member(mem))
			}
		}
		c.Machines = append(c.Machines, vm)
	}
	for _, o := range s.Orphans {
		c.Orphans = append(c.Orphans, member(o))
	}
	return c
}

func rowsByName(mg *v1alpha1.MemberGate) map[string]v1alpha1.MachineMembers {
	rows := make(map[string]v1alpha1.MachineMembers, len(mg.Status.Machines))
	for _, row := range mg.Status.Machines {
		rows[row.Name] = row
	}
	return rows
}

func member(m v1alpha1.Member) Member {
	return Member{Pool: m.PoolID, ID: m.ID, Name: m.Name, Address: m.Address, Port: m.ProtocolPort,
		ProvisioningStatus: m.ProvisioningStatus, OperatingStatus: m.OperatingStatus, Since: timePtr(m.Since),
		Serving: m.Serving, Message: m.Message}
}

func timePtr(t *metav1.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	out := t.Time
	return &out
}

// policyOf is the MemberGate's policy with the API's defaults, as the gate
// applies it.
func policyOf(mg *v1alpha1.MemberGate) gate.Policy {
	p := gate.Policy{Mode: gate.Mode(mg.Spec.Mode), AlertAfter: v1alpha1.DefaultAlertAfter}
	if p.Mode == "" {
		p.Mode = gate.Enforce
	}
	if n := mg.Spec.MinServingMembers; n != nil {
		p.MinServingMembers = int(*n)
	}
	if mg.Spec.AlertAfter != nil {
		p.AlertAfter = mg.Spec.AlertAfter.Duration
	}
	return p
}
