package gate

import (
	"time"

	"github.com/membergate/membergate/pkg/memberwait"
)

// Mode is how a cluster is gated.
type Mode string

const (
	// Enforce holds rollouts: the hook stays on a deleting Machine until
	// the release rule allows it to go.
	Enforce Mode = "Enforce"
	// Audit reports (conditions, events, metrics) but never holds.
	Audit Mode = "Audit"
	// Disabled takes its hands off: hooks it placed are removed, nothing is
	// reported.
	Disabled Mode = "Disabled"
)

// Policy is a cluster's gating policy (the MemberGate spec).
type Policy struct {
	Mode Mode
	// MinServingMembers is how many other control-plane Machines must stay
	// member-ready when one goes; 0 means all of them.
	MinServingMembers int
	// AlertAfter is how long a hold lasts before it is reported loudly. The
	// hold itself never ends because time passed.
	AlertAfter time.Duration
}

// Input is one observation.
type Input struct {
	Now    time.Time
	Policy Policy
	// Paused: the Cluster is paused; nothing changes.
	Paused bool
	// Deleting: the Cluster or its control plane is being deleted; every
	// hook goes at once.
	Deleting bool
	// LoadBalancer is the API server load balancer.
	LoadBalancer LoadBalancer
	// PoolIDs are the pools behind the load balancer's listeners: a
	// member-ready Machine has a serving member in each.
	PoolIDs  []string
	Machines []Machine
	// Orphans are members that belong to no existing Machine.
	Orphans []memberwait.MemberStatus
}

// LoadBalancer is what was seen of the API server load balancer.
type LoadBalancer struct {
	ID    string
	Found bool
	// Err is set when Octavia could not be observed at all.
	Err error
}

// Machine is one control-plane Machine with what was seen of its members.
type Machine struct {
	Name     string
	Deleting bool
	// HasNode: the Machine has a Node. Machines still being provisioned do
	// not count among those that must serve.
	HasNode bool
	// HasHook: the Machine carries the gate's pre-drain hook.
	HasHook bool
	// ManualRelease is the value of the manual-release annotation (who and
	// why), empty when absent.
	ManualRelease string
	// Members is the verdict for this Machine's member in each pool, by
	// pool ID; a pool without an entry has no member for the Machine.
	Members map[string]memberwait.Verdict
	// HeldSince and Alerted are the hold's state from the previous decision.
	HeldSince time.Time
	Alerted   bool
}

// Decision is what the controller should do.
type Decision struct {
	// AddHook lists Machines that need the pre-drain hook.
	AddHook []string
	// Release lists Machines whose hook goes, and why.
	Release []Release
	// Machines carries, for every Machine, its condition and hold state.
	Machines []MachineStatus
	// Events worth a person's attention.
	Events []Event
	// Blocking is true when some deleting Machine is held.
	Blocking bool
	// RequeueAfter is when to look again (0: no need while nothing moves).
	RequeueAfter time.Duration
}

// Release is a hook to remove.
type Release struct {
	Machine string
	Reason  string
	Manual  bool
}

// MachineStatus is a Machine's LoadBalancerMemberReady condition and hold.
type MachineStatus struct {
	Name        string
	MemberReady bool
	Reason      string
	Message     string
	Held        bool
	HeldSince   time.Time
	Alerted     bool
}

// Event is a Kubernetes event to record.
type Event struct {
	Machine string
	Warning bool
	Reason  string
	Message string
}

// Condition reasons for LoadBalancerMemberReady: part of the API.
const (
	ReasonServing              = "MemberServing"
	ReasonMemberPending        = "MemberPending"
	ReasonMemberNotServing     = "MemberNotServing"
	ReasonMemberError          = "MemberError"
	ReasonMemberMissing        = "MemberMissing"
	ReasonLoadBalancerNotReady = "LoadBalancerNotReady"
	ReasonOctaviaUnavailable   = "OctaviaUnavailable"
)

// Event reasons.
const (
	EventHeld           = "RolloutHeld"
	EventReleased       = "HookReleased"
	EventManualRelease  = "ManualRelease"
	EventHeldTooLong    = "HeldTooLong"
	EventOrphanMember   = "OrphanMember"
	EventClusterDeleted = "ReleasedForDeletion"
)
