package memberwait

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SettleMode says how long a Serving member must stay ACTIVE and ONLINE
// before it counts, when [Options.SettleWindow] does not say it.
type SettleMode int

const (
	// SettleAuto derives the window per pool from its health monitor (see
	// [AutoSettleWindow]): as long as the monitor needs to find a member
	// that does not serve, and Octavia to report it. The default.
	SettleAuto SettleMode = iota
	// SettleFixed uses DefaultSettleWindow for every pool.
	SettleFixed
)

// String returns the mode's name.
func (m SettleMode) String() string {
	switch m {
	case SettleAuto:
		return "Auto"
	case SettleFixed:
		return "Fixed"
	}
	return "SettleMode(" + strconv.Itoa(int(m)) + ")"
}

// ParseSettleMode parses a mode name, case-insensitively.
func ParseSettleMode(s string) (SettleMode, error) {
	for _, m := range []SettleMode{SettleAuto, SettleFixed} {
		if strings.EqualFold(s, m.String()) {
			return m, nil
		}
	}
	return 0, fmt.Errorf("unknown settle mode %q: want auto or fixed", s)
}

// Settle-window derivation.
//
//   - DefaultHeartbeat: Octavia's [health_manager] heartbeat_interval, how
//     often an amphora reports its servers' states; a DOWN server reads
//     ERROR at the first heartbeat after HAProxy marks it.
//   - AutoSettleMargin: the health manager writes a heartbeat to the
//     database after it arrives (a queue of health_update_threads, under
//     a second when idle, seconds under load), and the waiter sees the write
//     only at its next poll after the window. 5 s covers the queue; the
//     poll comes on top, and only ever later.
//   - DefaultMonitorCacheTTL: a monitor's parameters change only by a PUT,
//     which the status tree shows as PENDING_UPDATE and which drops the
//     cached entry; the time limit bounds what an update between two polls
//     (never seen PENDING) can cost.
const (
	DefaultHeartbeat       = 10 * time.Second
	AutoSettleMargin       = 5 * time.Second
	DefaultMonitorCacheTTL = 10 * time.Minute
)

// ProviderOVN is the Octavia provider name of ovn-octavia-provider.
const ProviderOVN = "ovn"

// HealthMonitor is what the settle window needs of a pool's health monitor,
// as GET /v2/lbaas/healthmonitors/{id} reports it.
type HealthMonitor struct {
	ID   string
	Type string
	// Delay is the time between two checks of a member, Timeout how long one
	// check may take.
	Delay, Timeout time.Duration
	// MaxRetriesDown is how many checks in a row must fail before a member
	// is DOWN.
	MaxRetriesDown int
	// UpdatedAt is the monitor's updated_at (its created_at if never
	// updated); zero if Octavia did not say.
	UpdatedAt time.Time
}

// AutoSettleWindow is how long a member must read ONLINE before Octavia's
// API can be trusted that it serves, under monitor hm of a load balancer of
// provider (empty means amphora), with amphorae reporting every heartbeat
// (zero means DefaultHeartbeat).
//
// Amphora (HAProxy): a new server starts UP, before any check, so a member
// that does not serve reads ONLINE at first. HAProxy marks it DOWN after
// max_retries_down failed checks delay apart, the last taking up to timeout:
// delay×max_retries_down + timeout after it was added. The amphora reports
// that with its next heartbeat, so the window is that plus one heartbeat
// plus AutoSettleMargin.
//
// OVN: ovn-octavia-provider maps delay to the health check's interval,
// timeout to its timeout and max_retries_down to its failure_count.
// ovn-controller probes each backend; a backend without a result yet is
// used, like HAProxy's initial UP. The status reaches Octavia by an event,
// not a heartbeat. Whether the next probe is scheduled from the previous
// probe's send or from its time-out, failure_count probes fail within
// max_retries_down×(delay + timeout): that, plus AutoSettleMargin.
func AutoSettleWindow(hm HealthMonitor, provider string, heartbeat time.Duration) time.Duration {
	if heartbeat <= 0 {
		heartbeat = DefaultHeartbeat
	}
	// Octavia requires max_retries_down ≥ 1; a monitor that says less (an
	// old API, a source that did not read it) is taken at Octavia's default.
	retries := hm.MaxRetriesDown
	if retries < 1 {
		retries = 3
	}
	if strings.EqualFold(provider, ProviderOVN) {
		return time.Duration(retries)*(hm.Delay+hm.Timeout) + AutoSettleMargin
	}
	return time.Duration(retries)*hm.Delay + hm.Timeout + heartbeat + AutoSettleMargin
}

// settleWindow is the window for a member of pool on snapshot s, and where
// it comes from, for messages.
func (o Options) settleWindow(s *Snapshot, pool *PoolStatus) (time.Duration, string) {
	switch {
	case o.SettleWindow < 0:
		return 0, "no settle window"
	case o.SettleWindow > 0:
		return o.SettleWindow, "settle window"
	case o.Settle != SettleAuto:
		return DefaultSettleWindow, "settle window"
	}
	// A pool without a monitor keeps the fixed window (what NO_MONITOR
	// means is the NoMonitor policy's business), and so does one whose
	// monitor the source could not read.
	if pool == nil || pool.HealthMonitor == nil {
		return DefaultSettleWindow, "settle window"
	}
	provider := ""
	if s != nil {
		provider = s.Provider
	}
	hm := pool.HealthMonitor
	return AutoSettleWindow(*hm, provider, o.Heartbeat),
		fmt.Sprintf("settle window (monitor %s/%s/%d)", hm.Delay, hm.Timeout, hm.MaxRetriesDown)
}

// WantsHealthMonitors reports whether waits with these options need the
// pools' monitor parameters ([Request.HealthMonitors]): Serving waits with
// SettleAuto and no explicit window. Callers that observe through their own
// [Source] calls set the request's field from it.
func (o Options) WantsHealthMonitors() bool {
	return (o.Target == Serving || o.Target == 0) && o.SettleWindow == 0 && o.Settle == SettleAuto
}
