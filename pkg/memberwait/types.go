package memberwait

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Octavia provisioning statuses.
const (
	StatusActive        = "ACTIVE"
	StatusDeleted       = "DELETED"
	StatusError         = "ERROR"
	StatusPendingCreate = "PENDING_CREATE"
	StatusPendingUpdate = "PENDING_UPDATE"
	StatusPendingDelete = "PENDING_DELETE"
)

// Octavia operating statuses. ERROR is shared with provisioning ([StatusError]).
const (
	StatusOnline    = "ONLINE"
	StatusOffline   = "OFFLINE"
	StatusDegraded  = "DEGRADED"
	StatusDraining  = "DRAINING"
	StatusNoMonitor = "NO_MONITOR"
)

// IsPending reports whether a provisioning status is one of Octavia's
// PENDING_* states, during which the object is immutable.
func IsPending(provisioning string) bool {
	return strings.HasPrefix(provisioning, "PENDING_")
}

// Target is the state a waiter waits for.
type Target int

const (
	// Provisioned: the member's provisioning status is ACTIVE and its load
	// balancer is not PENDING_*. Says nothing about health.
	Provisioned Target = iota + 1
	// Serving: Provisioned, and the member's operating status is ONLINE (or
	// NO_MONITOR, if the NoMonitor policy allows it) continuously for the
	// settle window.
	Serving
	// Gone: the member no longer exists (404, DELETED, or absent from its
	// pool) and its load balancer is not PENDING_*.
	Gone
)

// String returns the target's name.
func (t Target) String() string {
	switch t {
	case Provisioned:
		return "Provisioned"
	case Serving:
		return "Serving"
	case Gone:
		return "Gone"
	}
	return "Target(" + strconv.Itoa(int(t)) + ")"
}

// ParseTarget parses a target name, case-insensitively.
func ParseTarget(s string) (Target, error) {
	for _, t := range []Target{Provisioned, Serving, Gone} {
		if strings.EqualFold(s, t.String()) {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown target %q: want provisioned, serving or gone", s)
}

// NoMonitorPolicy says what a Serving waiter makes of a member whose operating
// status is NO_MONITOR, which Octavia reports when the pool has no health
// monitor: such a member will never read ONLINE.
type NoMonitorPolicy int

const (
	// NoMonitorFail fails at once with a [*NoMonitorError]: waiting for
	// ONLINE would last until the timeout. The default.
	NoMonitorFail NoMonitorPolicy = iota
	// NoMonitorServing counts ACTIVE + NO_MONITOR as serving (after the settle
	// window), for pools that deliberately have no monitor.
	NoMonitorServing
	// NoMonitorWait keeps waiting, for callers about to add a monitor.
	NoMonitorWait
)

// String returns the policy's name.
func (p NoMonitorPolicy) String() string {
	switch p {
	case NoMonitorFail:
		return "Fail"
	case NoMonitorServing:
		return "Serving"
	case NoMonitorWait:
		return "Wait"
	}
	return "NoMonitorPolicy(" + strconv.Itoa(int(p)) + ")"
}

// ParseNoMonitorPolicy parses a policy name, case-insensitively.
func ParseNoMonitorPolicy(s string) (NoMonitorPolicy, error) {
	for _, p := range []NoMonitorPolicy{NoMonitorFail, NoMonitorServing, NoMonitorWait} {
		if strings.EqualFold(s, p.String()) {
			return p, nil
		}
	}
	return 0, fmt.Errorf("unknown NO_MONITOR policy %q: want fail, serving or wait", s)
}

// Selector selects one member of a load balancer. ID, when set, is enough.
// Otherwise every field that is set must match: Name, Address and
// ProtocolPort, within PoolID when set or else within every pool of the load
// balancer. A selector that matches more than one member is an error.
type Selector struct {
	PoolID       string
	ID           string
	Name         string
	Address      string
	ProtocolPort int
}

// String describes the selector for messages.
func (m Selector) String() string {
	var parts []string
	if m.ID != "" {
		parts = append(parts, m.ID)
	}
	if m.Name != "" {
		parts = append(parts, strconv.Quote(m.Name))
	}
	if m.Address != "" {
		a := m.Address
		if strings.Contains(a, ":") {
			a = "[" + a + "]"
		}
		if m.ProtocolPort != 0 {
			a += ":" + strconv.Itoa(m.ProtocolPort)
		}
		parts = append(parts, a)
	} else if m.ProtocolPort != 0 {
		parts = append(parts, "port "+strconv.Itoa(m.ProtocolPort))
	}
	s := "member " + strings.Join(parts, " ")
	if m.PoolID != "" {
		s += " in pool " + m.PoolID
	}
	return s
}

func (m Selector) empty() bool {
	return m.ID == "" && m.Name == "" && m.Address == "" && m.ProtocolPort == 0
}

func (m Selector) matches(s MemberStatus) bool {
	if m.ID != "" {
		return s.ID == m.ID
	}
	return (m.Name == "" || s.Name == m.Name) &&
		// Octavia keeps the spelling an address was submitted in.
		(m.Address == "" || SameAddress(s.Address, m.Address)) &&
		(m.ProtocolPort == 0 || s.ProtocolPort == m.ProtocolPort)
}

// Snapshot is one observation of a load balancer and its members.
type Snapshot struct {
	LoadBalancerID string
	// Found is false when the load balancer does not exist (404).
	Found bool
	// ProvisioningStatus and OperatingStatus of the load balancer; empty
	// when the source did not read them (see [Request.LoadBalancerStatus]).
	ProvisioningStatus string
	OperatingStatus    string
	// Provider is the load balancer's provider (amphora, ovn, ...); empty
	// when the source did not read it.
	Provider string
	Pools    []PoolStatus
	// Complete is true when Pools holds every pool of the load balancer that
	// the status tree shows, so a member absent from all of them is absent.
	Complete bool
	// SentAt is when the first request was sent, ReceivedAt when the last
	// answer arrived. Requests is how many API requests the observation took.
	SentAt, ReceivedAt time.Time
	Requests           int
}

// Observation is the outcome of one attempt to observe a load balancer:
// a snapshot, or the error that prevented it, at a time.
type Observation struct {
	Snapshot *Snapshot
	Err      error
	// At is when the observation completed; the settle window and the
	// grace period are measured with it.
	At time.Time
}

// PoolStatus is one pool in a [Snapshot].
type PoolStatus struct {
	ID                 string
	Name               string
	ProvisioningStatus string
	OperatingStatus    string
	// Monitor says whether the pool has a health monitor, when known.
	Monitor MonitorPresence
	// HealthMonitor holds the monitor's parameters when the source read them
	// ([Request.HealthMonitors]); nil otherwise.
	HealthMonitor *HealthMonitor
	Members       []MemberStatus
}

// MonitorPresence is a tri-state for facts a source may not know.
type MonitorPresence int

const (
	MonitorUnknown MonitorPresence = iota
	MonitorPresent
	MonitorAbsent
)

// MemberStatus is one member in a [Snapshot].
type MemberStatus struct {
	ID                 string
	Name               string
	Address            string
	ProtocolPort       int
	ProvisioningStatus string
	OperatingStatus    string
}

// Statuses formats the pair as "PROVISIONING/OPERATING".
func (s MemberStatus) Statuses() string {
	return s.ProvisioningStatus + "/" + s.OperatingStatus
}

// find returns the members of the snapshot that m selects, with their pools.
func (s *Snapshot) find(m Selector) (found []MemberStatus, pools []*PoolStatus, poolSeen bool) {
	for i := range s.Pools {
		p := &s.Pools[i]
		if m.PoolID != "" && p.ID != m.PoolID {
			continue
		}
		poolSeen = true
		for _, ms := range p.Members {
			if m.matches(ms) {
				found = append(found, ms)
				pools = append(pools, p)
			}
		}
	}
	return found, pools, poolSeen
}
