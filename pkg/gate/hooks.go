package gate

import (
	"fmt"
	"strings"
	"time"
)

// Hook is a Cluster API lifecycle hook the gate answers (Runtime Extension,
// ClusterClass clusters only).
type Hook string

// The lifecycle hooks the gate serves.
const (
	// BeforeClusterUpgrade is called before a new version reaches the
	// control plane.
	BeforeClusterUpgrade Hook = "BeforeClusterUpgrade"
	// BeforeControlPlaneUpgrade is called before each control-plane
	// upgrade step (CAPI >= 1.12).
	BeforeControlPlaneUpgrade Hook = "BeforeControlPlaneUpgrade"
	// AfterControlPlaneUpgrade is called once the control plane runs the new
	// version, before the workers are upgraded.
	AfterControlPlaneUpgrade Hook = "AfterControlPlaneUpgrade"
)

// HookRetry is the retryAfter of a blocking hook answer. The controller
// re-observes a cluster that is not Idle at least every Resync and usually
// within seconds of a change, so a short retry costs little and ends a
// block promptly.
const HookRetry = 15 * time.Second

// DefaultMaxObservationAge is how old the controller's last observation may
// be and still answer a hook, with the default idle resync:
// MaxObservationAgeFor(DefaultIdleResync).
const DefaultMaxObservationAge = DefaultIdleResync + DefaultIdleResync/idleJitterDivisor + observationSlack

// observationSlack is what an observation may be late beyond its schedule:
// four resyncs (one every Resync) missed mean the controller is not keeping
// up, and an old "serving" proves nothing.
const observationSlack = 4 * Resync

// MaxObservationAgeFor is how old an observation may be to answer a hook
// when the controller looks at idle clusters every idle: an idle cluster's
// observation is up to LongestIdle old by design, and only what is later
// than that by four resyncs means the controller is not keeping up. A
// rolling cluster is not idle and is observed at least every Resync, and
// the pre-drain hook of a Machine is released only on a fresh read of
// Octavia, whatever the age here.
func MaxObservationAgeFor(idle time.Duration) time.Duration {
	return LongestIdle(idle) + observationSlack
}

// HookInput is what a lifecycle hook decides from: the controller's last
// observation of a gated cluster (the MemberGate status), plain values only.
type HookInput struct {
	Hook Hook
	Now  time.Time
	Mode Mode
	// ObservedAt is when the controller last observed the load balancer;
	// zero when it never has.
	ObservedAt time.Time
	// MaxAge is how old ObservedAt may be; 0 means DefaultMaxObservationAge.
	MaxAge       time.Duration
	LoadBalancer HookLoadBalancer
	Machines     []HookMachine
	// Orphans are members that belong to no control-plane Machine.
	Orphans []HookMember
}

// HookLoadBalancer is the API server load balancer as last observed.
type HookLoadBalancer struct {
	ID                                  string
	ProvisioningStatus, OperatingStatus string
	// Unavailable says why the load balancer could not be observed (Octavia
	// down, credentials, no load balancer yet); empty when it was.
	Unavailable string
}

// HookMachine is one control-plane Machine as last observed.
type HookMachine struct {
	Name        string
	Deleting    bool
	MemberReady bool
	// Reason is its LoadBalancerMemberReady reason (MemberPending, ...).
	Reason string
	// Members has a row per pool.
	Members []HookMember
}

// HookMember is one pool member as last observed.
type HookMember struct {
	PoolID, ID, Address                 string
	Port                                int32
	ProvisioningStatus, OperatingStatus string
	// Since is when the statuses were first seen; zero when unknown.
	Since   time.Time
	Serving bool
	// Message is the waiter's explanation, in words.
	Message string
}

// HookVerdict is the answer to a lifecycle hook.
type HookVerdict struct {
	// Allow lets CAPI go on; otherwise it asks again after RetryAfter.
	Allow      bool
	RetryAfter time.Duration
	// Message says why, naming the members and their statuses.
	Message string
}

// maxListed bounds how many Machines or orphans a message names: CAPI copies
// the message into a condition, which must stay readable.
const maxListed = 3

// DecideHook answers a lifecycle hook for a gated cluster: BeforeClusterUpgrade and BeforeControlPlaneUpgrade block
// while the load balancer is not ACTIVE or a control-plane Machine is not
// member-ready; AfterControlPlaneUpgrade also blocks while an orphan member
// remains. Deleting Machines count too: an upgrade does not start, nor the
// workers follow, while a rollout is still taking one away. An observation
// older than MaxAge blocks: the gate never allows on what it no longer knows.
// Audit and Disabled never block.
func DecideHook(in HookInput) HookVerdict {
	if in.Mode == Disabled {
		return HookVerdict{Allow: true, Message: "gating is disabled for this cluster"}
	}
	var why []string
	maxAge := in.MaxAge
	if maxAge <= 0 {
		maxAge = DefaultMaxObservationAge
	}
	switch {
	case in.ObservedAt.IsZero():
		why = append(why, "waiting for a fresh observation: the gate has not observed the load balancer yet")
	case in.Now.Sub(in.ObservedAt) > maxAge:
		why = append(why, fmt.Sprintf("waiting for a fresh observation: the last one is %s old (at %s), more than %s",
			in.Now.Sub(in.ObservedAt).Round(time.Second), stamp(in.ObservedAt), maxAge))
	default:
		why = append(why, blockers(in)...)
	}
	if len(why) == 0 {
		return HookVerdict{Allow: true, Message: allowMessage(in)}
	}
	msg := strings.Join(why, "; ")
	if in.Mode == Audit {
		return HookVerdict{Allow: true, Message: "Audit mode, not blocking; Enforce would block: " + msg}
	}
	return HookVerdict{RetryAfter: HookRetry, Message: msg}
}

// blockers lists what keeps a fresh observation from allowing the hook.
func blockers(in HookInput) []string {
	var why []string
	lb := in.LoadBalancer
	switch {
	case lb.Unavailable != "":
		why = append(why, "the API server load balancer could not be observed: "+lb.Unavailable)
	case lb.ProvisioningStatus != "ACTIVE":
		why = append(why, fmt.Sprintf("load balancer %s is %s, not ACTIVE", lb.ID, statuses(lb.ProvisioningStatus, lb.OperatingStatus)))
	}
	var notReady []string
	for _, m := range in.Machines {
		if !m.MemberReady {
			notReady = append(notReady, machineMessage(m))
		}
	}
	if len(notReady) > 0 {
		why = append(why, fmt.Sprintf("%d of %d control-plane Machine(s) not member-ready: %s",
			len(notReady), len(in.Machines), list(notReady)))
	}
	if in.Hook == AfterControlPlaneUpgrade && len(in.Orphans) > 0 {
		var orphans []string
		for _, o := range in.Orphans {
			orphans = append(orphans, memberMessage(o))
		}
		why = append(why, fmt.Sprintf("%d orphan member(s) belong to no control-plane Machine: %s", len(orphans), list(orphans)))
	}
	return why
}

func allowMessage(in HookInput) string {
	msg := fmt.Sprintf("load balancer %s is ACTIVE and %d control-plane Machine(s) are member-ready", in.LoadBalancer.ID, len(in.Machines))
	if in.Hook == AfterControlPlaneUpgrade {
		msg += ", no orphan member"
	}
	return msg
}

// machineMessage names a Machine, its reason and every member that does not
// serve, with its statuses and since when.
func machineMessage(m HookMachine) string {
	var parts []string
	for _, mem := range m.Members {
		if !mem.Serving {
			parts = append(parts, memberMessage(mem))
		}
	}
	s := m.Name
	switch {
	case m.Reason != "" && m.Deleting:
		s += " (" + m.Reason + ", deleting)"
	case m.Reason != "":
		s += " (" + m.Reason + ")"
	case m.Deleting:
		s += " (deleting)"
	}
	if len(parts) > 0 {
		s += ": " + strings.Join(parts, ", ")
	}
	return s
}

func memberMessage(m HookMember) string {
	if m.ID == "" {
		return fmt.Sprintf("pool %s has no member for it", m.PoolID)
	}
	s := fmt.Sprintf("member %s (%s:%d)", m.ID, m.Address, m.Port)
	if m.PoolID != "" {
		s += " in pool " + m.PoolID
	}
	s += " is " + statuses(m.ProvisioningStatus, m.OperatingStatus)
	if !m.Since.IsZero() {
		s += " since " + stamp(m.Since)
	}
	if m.Message != "" {
		s += " (" + m.Message + ")"
	}
	return s
}

func statuses(provisioning, operating string) string {
	if provisioning == "" {
		provisioning = "unknown"
	}
	if operating == "" {
		return provisioning
	}
	return provisioning + "/" + operating
}

func list(items []string) string {
	if len(items) <= maxListed {
		return strings.Join(items, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(items[:maxListed], "; "), len(items)-maxListed)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
