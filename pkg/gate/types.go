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
	// ReportedOrphans are the orphans already reported, by member ID, with
	// the statuses they were reported with: an orphan is reported once, and
	// again only when its statuses change.
	ReportedOrphans map[string]string
}

// MemberReadiness is a Machine's LoadBalancerMemberReady verdict.
type MemberReadiness struct {
	MemberReady     bool
	Reason, Message string
}

// LoadBalancer is what was seen of the API server load balancer.
type LoadBalancer struct {
	ID    string
	Found bool
	// NotCreated: the cluster's spec asks for a load balancer that does not
	// exist yet. Nothing can serve through it, so every deletion is held.
	NotCreated bool
	// Err is set when Octavia could not be observed at all.
	Err error
	// UnavailableSince is when Octavia first could not be read in the
	// outage Err belongs to (zero: now).
	UnavailableSince time.Time
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
	// ManualReleaseSeen is when the gate first saw this value of the
	// annotation (zero: now), and ManualReleaseEarly whether the Machine
	// was not deleting then. Only a value first seen while the Machine was
	// deleting releases it: one set in advance (a template's metadata, say)
	// would otherwise switch the gate off for every deletion to come.
	ManualReleaseSeen  time.Time
	ManualReleaseEarly bool
	// Last is the Machine's verdict as the last good observation left it.
	// While Octavia cannot be read it is reported unchanged (never acted
	// on), so that an outage does not flip every Machine's condition.
	Last *MemberReadiness
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
	// Rule: the release rule let the Machine go (the others serve), as
	// opposed to a release by hand, for the cluster's deletion, or because
	// the gate holds nothing (Audit, Disabled). Only such a release waits
	// for the Machine's members to be drained first.
	Rule bool
}

// MachineStatus is a Machine's LoadBalancerMemberReady condition and hold.
type MachineStatus struct {
	Name        string
	MemberReady bool
	Reason      string
	Message     string
	// Remembered: Octavia could not be read and the verdict is the last
	// good observation's (Machine.Last); Message says since when. The
	// caller keeps each member's progress as it was.
	Remembered bool
	Held       bool
	HeldSince  time.Time
	Alerted    bool
	// ManualReleaseSeen and ManualReleaseEarly are the annotation's
	// sighting (see Machine), to be kept while its value is unchanged.
	ManualReleaseSeen  time.Time
	ManualReleaseEarly bool
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
	// ReasonLoadBalancerNotCreated: the cluster asks for an API server load
	// balancer that CAPO has not created yet.
	ReasonLoadBalancerNotCreated = "LoadBalancerNotCreated"
	// ReasonServingNoMonitor: the member is ACTIVE in a pool without a
	// health monitor; Octavia cannot tell whether it answers.
	ReasonServingNoMonitor   = "MemberActiveNoMonitor"
	ReasonOctaviaUnavailable = "OctaviaUnavailable"
)

// Event reasons.
const (
	EventHeld          = "RolloutHeld"
	EventReleased      = "HookReleased"
	EventManualRelease = "ManualRelease"
	// EventManualReleaseIgnored: the annotation was on the Machine before
	// it began deleting.
	EventManualReleaseIgnored = "ManualReleaseIgnored"
	EventHeldTooLong          = "HeldTooLong"
	EventOrphanMember         = "OrphanMember"
	EventClusterDeleted       = "ReleasedForDeletion"
)
