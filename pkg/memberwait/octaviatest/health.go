package octaviatest

import "time"

// HealthCheck models how an amphora's HAProxy and Octavia's health manager
// report a new member under a health monitor, for a MemberScript: the
// server is added UP before any check, so the member reads ONLINE at the
// first heartbeat after it turns ACTIVE; if it does not answer, HAProxy
// marks it DOWN after MaxRetriesDown failed checks Delay apart, the last
// taking up to Timeout, and the member reads ERROR from the heartbeat after
// that.
type HealthCheck struct {
	// Monitor holds the monitor's parameters in seconds; zero fields take
	// CAPO's defaults (delay 10, timeout 5, max_retries_down 3).
	Monitor MonitorSpec
	// Heartbeat is the amphora's heartbeat interval; zero means 10 s.
	Heartbeat time.Duration
	// Phase is when the first heartbeat after the member's creation comes,
	// in [0, Heartbeat).
	Phase time.Duration
	// Serves says whether the member answers its checks.
	Serves bool
}

// Script returns the member's timeline: PENDING_CREATE until active (its
// creation flow), then ONLINE at the next heartbeat and, for a member that
// does not serve, ERROR at the first heartbeat after it is DOWN.
func (h HealthCheck) Script(active time.Duration) MemberScript {
	hb := h.Heartbeat
	if hb <= 0 {
		hb = 10 * time.Second
	}
	sc := MemberScript{
		Provisioning: []Step{{After: 0, Status: StatusPendingCreate}, {After: active, Status: StatusActive}},
		Operating:    []Step{{After: 0, Status: StatusOffline}, {After: h.nextBeat(active, hb), Status: StatusOnline}},
	}
	if !h.Serves {
		sc.Operating = append(sc.Operating, Step{After: h.nextBeat(active+h.TimeToDown(), hb), Status: StatusError})
	}
	return sc
}

// TimeToDown is the longest time HAProxy takes to mark a server that does
// not answer DOWN: delay × max_retries_down + timeout.
func (h HealthCheck) TimeToDown() time.Duration {
	m := h.Monitor
	delay, timeout, down := orDefaultInt(m.Delay, 10), orDefaultInt(m.Timeout, 5), orDefaultInt(m.MaxRetriesDown, 3)
	return time.Duration(delay*down+timeout) * time.Second
}

// nextBeat is the first heartbeat at or after t: heartbeats come at Phase +
// k×hb.
func (h HealthCheck) nextBeat(t, hb time.Duration) time.Duration {
	phase := h.Phase % hb
	if t <= phase {
		return phase
	}
	beats := int64((t - phase + hb - 1) / hb)
	return phase + time.Duration(beats)*hb
}
