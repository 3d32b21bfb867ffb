package memberwait

import (
	"fmt"
	"time"
)

// Evaluate judges one observation for one member. It is pure: the same
// observation, options, progress and random numbers give the same verdict.
// Blocking waits and [Check] are built on it.
func Evaluate(obs Observation, m Selector, opts Options, prev Progress) Verdict {
	opts = opts.withDefaults()
	e := evaluation{opts: opts, m: m, p: prev, now: obs.At}
	if e.p.Started.IsZero() {
		e.p.Started = e.now
	}
	e.p.Polls++
	if m.empty() {
		v := e.fail(fmt.Errorf("empty member selector: set an ID, a name, an address or a port"))
		v.Progress, v.At = e.p, obs.At
		return v
	}
	v := e.judge(obs)
	if obs.Err == nil && obs.Snapshot != nil {
		e.p.LastSeen = e.now
		e.p.LoadBalancerPending = IsPending(obs.Snapshot.ProvisioningStatus)
	}
	v.Progress, v.At = e.p, obs.At
	return v
}

type evaluation struct {
	lb   string
	opts Options
	m    Selector
	p    Progress
	now  time.Time
}

func (e *evaluation) judge(obs Observation) Verdict {
	if obs.Err != nil {
		if !Retryable(obs.Err) {
			return e.fail(obs.Err)
		}
		e.p.Failures++
		v := e.pending("Octavia: " + shortError(obs.Err))
		// A failed poll says nothing about the member: try again soon, on
		// a backoff of its own that grows only while the errors go on, and
		// never sooner than the server's Retry-After.
		if d := e.opts.Backoff.Nth(e.p.Failures-1, e.opts.Rand()); d < v.RetryAfter {
			v.RetryAfter = d
		}
		if ra := retryAfter(obs.Err); ra > v.RetryAfter {
			v.RetryAfter = ra
		}
		return v
	}
	e.p.Failures = 0
	s := obs.Snapshot
	if s != nil {
		e.lb = s.LoadBalancerID
	}
	if s == nil || !s.Found {
		if e.opts.Target == Gone {
			return e.done("load balancer deleted")
		}
		return e.missing("load balancer", "load balancer not found")
	}
	found, pools, poolSeen := s.find(e.m)
	if len(found) > 1 {
		// A selector that resolved to one member keeps to it when another
		// member comes to match too (a second port on the same address):
		// the wait was about the first.
		found, pools = e.resolved(found, pools)
	}
	switch {
	case len(found) > 1:
		return e.fail(&AmbiguousError{Selector: e.m, Matches: found})
	case len(found) == 0:
		return e.absent(s, poolSeen)
	}
	ms, pool := found[0], pools[0]
	e.p.MissingSince = time.Time{}
	if e.p.MemberID != "" && ms.ID != e.p.MemberID {
		// Another ID is another member: the one judged so far was deleted
		// and this one created since, whatever the selector says. Nothing it
		// was seen doing counts for this one — a re-created member reads
		// ONLINE at once (HAProxy adds a new server UP before its first
		// check), which is exactly what the settle window must not credit.
		gone := e.p.MemberID
		e.p.ProvisioningStatus, e.p.OperatingStatus, e.p.Since = "", "", time.Time{}
		e.p.MemberID, e.p.PoolID = ms.ID, pool.ID
		if e.opts.Target == Gone {
			return e.loadBalancerSettled(s, "member "+gone+" gone, "+ms.ID+" in its place")
		}
	}
	e.p.MemberID, e.p.PoolID = ms.ID, pool.ID
	if ms.ProvisioningStatus != e.p.ProvisioningStatus || ms.OperatingStatus != e.p.OperatingStatus || e.p.Since.IsZero() || e.stale(s, pool, ms) {
		e.p.ProvisioningStatus, e.p.OperatingStatus = ms.ProvisioningStatus, ms.OperatingStatus
		e.p.Since = e.now
	}
	v := e.judgeMember(s, pool, ms)
	v.Member = &ms
	v.PoolID = pool.ID
	return v
}

// judgeMember decides for a member that is present in the snapshot.
func (e *evaluation) judgeMember(s *Snapshot, pool *PoolStatus, ms MemberStatus) Verdict {
	switch ms.ProvisioningStatus {
	case StatusError:
		return e.fail(&MemberError{LoadBalancerID: s.LoadBalancerID, PoolID: pool.ID, Member: ms, Since: e.p.Since})
	case StatusDeleted:
		if e.opts.Target == Gone {
			return e.loadBalancerSettled(s, "member DELETED")
		}
		return e.missing("member", "member DELETED")
	case StatusActive:
	default:
		// PENDING_* and statuses this library does not know: never success.
		return e.pending("member " + ms.Statuses())
	}
	switch e.opts.Target {
	case Gone:
		return e.pending("member still exists: " + ms.Statuses())
	case Provisioned:
		return e.loadBalancerSettled(s, "member ACTIVE")
	}
	switch ms.OperatingStatus {
	case StatusOnline:
	case StatusNoMonitor:
		switch {
		case e.opts.NoMonitor == NoMonitorServing:
		case e.opts.NoMonitor == NoMonitorFail && pool.Monitor != MonitorPresent:
			return e.fail(&NoMonitorError{LoadBalancerID: s.LoadBalancerID, PoolID: pool.ID, Member: ms})
		default:
			return e.pending("member " + ms.Statuses() + ", waiting for its health monitor")
		}
	default:
		v := e.pending("member " + ms.Statuses() + ", waiting for ONLINE")
		// A member that has just turned ACTIVE reads ONLINE at its next
		// heartbeat: watch closely for one heartbeat instead of backing off.
		if ms.OperatingStatus == StatusOffline && e.now.Sub(e.p.Since) < e.opts.OnlineWatch && v.RetryAfter > e.opts.OnlineWatchGap {
			v.RetryAfter = e.opts.OnlineWatchGap
		}
		return v
	}
	// Callers persist Since rounded up to the second, so it can lie after
	// this observation: nothing has been held yet, and a negative time is
	// neither shown nor credited.
	held := max(e.now.Sub(e.p.Since), 0)
	if window, what := e.opts.settleWindow(s, pool); held < window {
		v := e.pending(fmt.Sprintf("member %s for %s of the %s %s", ms.Statuses(), held.Round(time.Second), window, what))
		if left := window - held; left < v.RetryAfter {
			v.RetryAfter = left
		}
		return v
	}
	return e.loadBalancerSettled(s, fmt.Sprintf("member %s for %s", ms.Statuses(), held.Round(time.Second)))
}

// resolved narrows several matches to the member the progress resolved to,
// if it is among them.
func (e *evaluation) resolved(found []MemberStatus, pools []*PoolStatus) ([]MemberStatus, []*PoolStatus) {
	if e.p.MemberID == "" {
		return found, pools
	}
	for i, ms := range found {
		if ms.ID == e.p.MemberID {
			return found[i : i+1], pools[i : i+1]
		}
	}
	return found, pools
}

// absent decides for a member that is not in the snapshot.
func (e *evaluation) absent(s *Snapshot, poolSeen bool) Verdict {
	kind := "member"
	if e.m.PoolID != "" && !poolSeen && s.Complete {
		kind = "pool"
	}
	if e.opts.Target == Gone {
		return e.loadBalancerSettled(s, kind+" gone")
	}
	e.p.ProvisioningStatus, e.p.OperatingStatus, e.p.Since = "", "", time.Time{}
	return e.missing(kind, kind+" not found")
}

// loadBalancerSettled finishes a member that reached its target, unless its
// load balancer is still PENDING_* (the next change would get a 409) or in
// ERROR (it would accept none).
func (e *evaluation) loadBalancerSettled(s *Snapshot, reason string) Verdict {
	switch {
	case s.ProvisioningStatus == "":
		v := e.pending(reason + ", reading the load balancer's status")
		v.RetryAfter, v.NeedLoadBalancer, v.MemberReached = 0, true, true
		return v
	case IsPending(s.ProvisioningStatus):
		v := e.pending(reason + ", load balancer " + s.ProvisioningStatus)
		v.MemberReached = true
		return v
	case s.ProvisioningStatus != StatusActive && s.ProvisioningStatus != StatusError && e.opts.Target != Gone:
		// A status this library does not know (or DELETED): never done.
		return e.pending(reason + ", load balancer " + s.ProvisioningStatus)
	case s.ProvisioningStatus == StatusError && e.opts.Target != Gone:
		return e.fail(&LoadBalancerError{LoadBalancerID: s.LoadBalancerID, ProvisioningStatus: s.ProvisioningStatus, OperatingStatus: s.OperatingStatus})
	}
	return e.done(reason)
}

func (e *evaluation) missing(kind, reason string) Verdict {
	if e.p.MissingSince.IsZero() {
		e.p.MissingSince = e.now
	}
	gone := max(e.now.Sub(e.p.MissingSince), 0)
	if gone >= e.opts.NotFoundGrace {
		return e.fail(&NotFoundError{Kind: kind, LoadBalancerID: e.lb, Selector: e.m, Since: e.p.MissingSince})
	}
	v := e.pending(reason)
	if left := e.opts.NotFoundGrace - gone; left < v.RetryAfter {
		v.RetryAfter = left
	}
	return v
}

func (e *evaluation) pending(reason string) Verdict {
	d := e.opts.Backoff.Delay(e.now.Sub(e.unchangedSince()), e.opts.Rand())
	return Verdict{Outcome: Pending, RetryAfter: d, Reason: reason}
}

// stale reports whether the member's statuses may not have been fresh since
// the last look, for a member whose settle window had not yet run out then:
// nobody looked for longer than the longest gap (a crash, an outage), or the
// load balancer is PENDING_* now or was then (an amphora failover: no
// heartbeats, so Octavia keeps the last statuses, and the new amphora's
// HAProxy adds every server UP before its first check). ONLINE before and
// ONLINE after is not ONLINE throughout, so the window starts again.
func (e *evaluation) stale(s *Snapshot, pool *PoolStatus, ms MemberStatus) bool {
	settling := e.opts.Target == Serving && ms.ProvisioningStatus == StatusActive &&
		(ms.OperatingStatus == StatusOnline || ms.OperatingStatus == StatusNoMonitor)
	if !settling || e.p.Since.IsZero() || e.p.LastSeen.IsZero() {
		return false
	}
	if window, _ := e.opts.settleWindow(s, pool); e.p.LastSeen.Sub(e.p.Since) >= window {
		return false
	}
	return e.now.Sub(e.p.LastSeen) > e.opts.maxObservationGap() || IsPending(s.ProvisioningStatus) || e.p.LoadBalancerPending
}

// unchangedSince is when what the waiter sees last changed: the current
// statuses' since, the moment the member went missing, or the first look.
func (e *evaluation) unchangedSince() time.Time {
	switch {
	case !e.p.Since.IsZero():
		return e.p.Since
	case !e.p.MissingSince.IsZero():
		return e.p.MissingSince
	}
	return e.p.Started
}

func (e *evaluation) done(reason string) Verdict {
	return Verdict{Outcome: Done, Reason: reason}
}

func (e *evaluation) fail(err error) Verdict {
	return Verdict{Outcome: Failed, Err: err, Reason: err.Error()}
}

// shortError keeps messages about Octavia's errors to one readable line.
func shortError(err error) string {
	s := err.Error()
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
