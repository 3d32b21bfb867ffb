package gate

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/membergate/membergate/pkg/memberwait"
)

// Resync is how often the controller looks at a gated cluster that is not
// Idle when nothing asks for sooner: Octavia does not tell anyone when a
// member changes. The controller and the simulation both take it from here.
const Resync = 30 * time.Second

// DefaultIdleResync is how often the controller looks at an Idle cluster
// (the manager's --idle-resync): what an idle cluster can change without an
// event the controller watches — a member that fails, an orphan that
// appears — is seen within it (and its jitter). 1,000 idle clusters cost
// Octavia about three status trees a second at 5 minutes, instead of 33 at
// Resync.
const DefaultIdleResync = 5 * time.Minute

// idleJitterDivisor bounds the jitter IdleAfter adds: a fifth of the idle
// resync at most.
const idleJitterDivisor = 5

// Idle reports whether a decision leaves nothing to watch closely: no
// control-plane Machine deleting, no hook to place or release, no member
// verdict asking for another look (nothing pending, missing, failed or
// settling), Octavia read, and no orphan member. Such a cluster changes only
// through events the controller watches (Machines, the OpenStackCluster,
// the MemberGate's spec) or through Octavia alone, which the idle resync
// catches.
func Idle(in Input, d Decision) bool {
	if d.RequeueAfter > 0 || d.Blocking || len(d.AddHook) > 0 || len(d.Release) > 0 || len(in.Orphans) > 0 {
		return false
	}
	if in.Policy.Mode == Disabled {
		// Nothing is observed or held; the spec or annotation that turns
		// gating back on is an event.
		return true
	}
	lb := in.LoadBalancer
	if lb.NotCreated || lb.Err != nil || !lb.Found {
		return false
	}
	for _, m := range in.Machines {
		if m.Deleting {
			return false
		}
	}
	return true
}

// IdleAfter is an Idle cluster's next look: idle plus a jitter of up to a
// fifth of it, fixed per cluster (a hash of key, the cluster's
// namespace/name). Jitter spreads the looks of clusters that went idle
// together (a manager restart reconciles every cluster at once); fixed per
// cluster, each cluster still looks exactly once per its own period, never
// sooner than idle, so "at most one read per idle resync" holds per
// cluster, and tests and logs see the same schedule every run.
func IdleAfter(key string, idle time.Duration) time.Duration {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	return idle + time.Duration(float64(idle/idleJitterDivisor)*float64(h.Sum64()>>11)/float64(1<<53))
}

// LongestIdle is the longest an Idle cluster goes unobserved with idle
// resync idle: idle and its largest jitter.
func LongestIdle(idle time.Duration) time.Duration { return idle + idle/idleJitterDivisor }

// HoldRecheck is when a held rollout is looked at again when no member
// verdict asks for an earlier look (a member is missing, say).
const HoldRecheck = 15 * time.Second

// Decide applies the gate's rules to one observation: the hook on every
// non-deleting control-plane Machine; a deleting Machine released only when
// every other non-deleting one that has a Node is member-ready (on this
// observation, never on a remembered one) and at least MinServingMembers of
// them remain; every hook released at once when the cluster or its control
// plane is deleted; nothing changed while the cluster is paused; never a
// release because time passed.
func Decide(in Input) Decision {
	var d Decision
	if in.Paused {
		return d
	}
	if in.Policy.Mode == Disabled {
		for _, m := range in.Machines {
			if m.HasHook {
				d.Release = append(d.Release, Release{Machine: m.Name, Reason: "gating is disabled for this cluster"})
			}
		}
		return d
	}
	if in.Deleting {
		for _, m := range in.Machines {
			if m.HasHook {
				d.Release = append(d.Release, Release{Machine: m.Name, Reason: "the cluster is being deleted"})
				d.Events = append(d.Events, Event{Machine: m.Name, Reason: EventClusterDeleted, Message: "released the pre-drain hook: the cluster is being deleted"})
			}
		}
		return d
	}

	ready := make(map[string]readiness, len(in.Machines))
	for _, m := range in.Machines {
		ready[m.Name] = memberReadiness(in, m)
	}
	var requeue time.Duration
	for _, m := range in.Machines {
		r := ready[m.Name]
		requeue = Sooner(requeue, r.retry)
		st := MachineStatus{Name: m.Name, MemberReady: r.ok, Reason: r.reason, Message: r.message}
		if in.LoadBalancer.Err != nil && m.Last != nil {
			// Report what was last known, act on nothing: r.ok stays false
			// for the release rule.
			st.MemberReady, st.Reason, st.Remembered = m.Last.MemberReady, m.Last.Reason, true
			st.Message = fmt.Sprintf("last known, %s: %s", r.message, m.Last.Message)
		}
		if m.ManualRelease != "" {
			st.ManualReleaseSeen, st.ManualReleaseEarly = m.ManualReleaseSeen, m.ManualReleaseEarly
			if st.ManualReleaseSeen.IsZero() {
				st.ManualReleaseSeen, st.ManualReleaseEarly = in.Now, !m.Deleting
			}
		}
		switch {
		case in.Policy.Mode == Audit:
			if m.HasHook {
				d.Release = append(d.Release, Release{Machine: m.Name, Reason: "the gate is in Audit mode: it reports, never holds"})
			}
		case !m.Deleting:
			if !m.HasHook {
				d.AddHook = append(d.AddHook, m.Name)
			}
		case !m.HasHook:
			// Deleting before the gate placed its hook (or after it let
			// go): nothing left to hold.
		case m.ManualRelease != "" && !st.ManualReleaseEarly:
			d.Release = append(d.Release, Release{Machine: m.Name, Reason: "released by hand: " + m.ManualRelease, Manual: true})
			d.Events = append(d.Events, Event{Machine: m.Name, Warning: true, Reason: EventManualRelease,
				Message: fmt.Sprintf("pre-drain hook released by hand (%s) while: %s", m.ManualRelease, holdReason(in, m, ready))})
		default:
			if why, ok := releasable(in, m, ready); ok {
				d.Release = append(d.Release, Release{Machine: m.Name, Reason: why, Rule: true})
				d.Events = append(d.Events, Event{Machine: m.Name, Reason: EventReleased, Message: "released the pre-drain hook: " + why})
				break
			}
			st.Held, st.HeldSince, st.Alerted = true, m.HeldSince, m.Alerted
			why := holdReason(in, m, ready)
			if st.HeldSince.IsZero() {
				st.HeldSince = in.Now
				d.Events = append(d.Events, Event{Machine: m.Name, Reason: EventHeld, Message: "holding the rollout: " + why})
				if m.ManualRelease != "" {
					d.Events = append(d.Events, Event{Machine: m.Name, Warning: true, Reason: EventManualReleaseIgnored,
						Message: fmt.Sprintf("ignoring the manual-release annotation (%q): it was there at %s, before the Machine began deleting; give it a new value to release the hook by hand",
							m.ManualRelease, stamp(st.ManualReleaseSeen))})
				}
			}
			held := in.Now.Sub(st.HeldSince)
			if a := in.Policy.AlertAfter; a > 0 {
				if held >= a && !st.Alerted {
					st.Alerted = true
					d.Events = append(d.Events, Event{Machine: m.Name, Warning: true, Reason: EventHeldTooLong,
						Message: fmt.Sprintf("held for %s, still: %s. The hook stays until the members serve; release by hand with the annotation if you accept the risk", held.Round(time.Second), why)})
				} else if held < a {
					requeue = Sooner(requeue, a-held)
				}
			}
			requeue = Sooner(requeue, HoldRecheck)
			d.Blocking = true
		}
		d.Machines = append(d.Machines, st)
	}
	for _, o := range in.Orphans {
		if s, ok := in.ReportedOrphans[o.ID]; ok && s == o.Statuses() {
			continue
		}
		d.Events = append(d.Events, Event{Warning: true, Reason: EventOrphanMember,
			Message: fmt.Sprintf("member %s (%s:%d) is %s but belongs to no control-plane Machine", o.ID, o.Address, o.ProtocolPort, o.Statuses())})
	}
	d.RequeueAfter = requeue
	return d
}

// releasable applies the release rule to a deleting Machine.
func releasable(in Input, m Machine, ready map[string]readiness) (string, bool) {
	waiting, serving := others(in, m, ready)
	if len(waiting) > 0 || len(serving) < in.Policy.MinServingMembers {
		return "", false
	}
	if len(serving) == 0 {
		return "no other control-plane Machine with a Node must serve", true
	}
	return fmt.Sprintf("%d other control-plane Machine(s) serve: %s", len(serving), strings.Join(serving, ", ")), true
}

// holdReason says why a deleting Machine is held, naming what it waits for.
func holdReason(in Input, m Machine, ready map[string]readiness) string {
	waiting, serving := others(in, m, ready)
	if len(waiting) > 0 {
		return "waiting for " + strings.Join(waiting, "; ")
	}
	return fmt.Sprintf("only %d other control-plane Machine(s) serve, %d required", len(serving), in.Policy.MinServingMembers)
}

// others are the Machines the release rule looks at when m goes — the other
// non-deleting ones that have a Node — split into those not member-ready
// (with why) and those that are.
func others(in Input, m Machine, ready map[string]readiness) (waiting, serving []string) {
	for _, o := range in.Machines {
		if o.Name == m.Name || o.Deleting || !o.HasNode {
			continue
		}
		if r := ready[o.Name]; !r.ok {
			waiting = append(waiting, o.Name+": "+r.message)
		} else {
			serving = append(serving, o.Name)
		}
	}
	return waiting, serving
}

type readiness struct {
	ok      bool
	reason  string
	message string
	retry   time.Duration
}

// severity orders reasons so a Machine reports its worst pool.
var severity = map[string]int{
	ReasonServing: 0, ReasonServingNoMonitor: 1, ReasonMemberPending: 2, ReasonMemberNotServing: 3, ReasonMemberMissing: 4,
	ReasonMemberError: 5, ReasonLoadBalancerNotReady: 6, ReasonLoadBalancerNotCreated: 7, ReasonOctaviaUnavailable: 8,
}

// memberReadiness is whether a Machine has a serving member in every pool.
func memberReadiness(in Input, m Machine) readiness {
	lb := in.LoadBalancer
	switch {
	case lb.NotCreated:
		return readiness{reason: ReasonLoadBalancerNotCreated, message: "waiting for CAPO to create the API server load balancer", retry: HoldRecheck}
	case lb.Err != nil:
		since := lb.UnavailableSince
		if since.IsZero() {
			since = in.Now
		}
		return readiness{reason: ReasonOctaviaUnavailable, message: fmt.Sprintf("Octavia could not be read since %s: %s", stamp(since), lb.Err), retry: HoldRecheck}
	case !lb.Found:
		return readiness{reason: ReasonLoadBalancerNotReady, message: fmt.Sprintf("load balancer %s not found", lb.ID), retry: HoldRecheck}
	case len(in.PoolIDs) == 0:
		return readiness{reason: ReasonLoadBalancerNotReady, message: fmt.Sprintf("load balancer %s has no pool behind its listeners", lb.ID), retry: HoldRecheck}
	}
	r := readiness{ok: true, reason: ReasonServing}
	var msgs []string
	for _, pool := range in.PoolIDs {
		reason, msg, retry := poolReadiness(m, pool)
		r.retry = Sooner(r.retry, retry)
		if reason != ReasonServing && reason != ReasonServingNoMonitor {
			r.ok = false
		}
		if severity[reason] > severity[r.reason] {
			r.reason = reason
		}
		msgs = append(msgs, msg)
	}
	r.message = strings.Join(msgs, "; ")
	return r
}

func poolReadiness(m Machine, pool string) (reason, msg string, retry time.Duration) {
	v, ok := m.Members[pool]
	if !ok {
		return ReasonMemberMissing, fmt.Sprintf("pool %s: no member for this Machine", pool), HoldRecheck
	}
	where := fmt.Sprintf("pool %s", pool)
	if v.Member != nil {
		where += fmt.Sprintf(": member %s (%s)", v.Member.ID, hostPort(v.Member.Address, v.Member.ProtocolPort))
	}
	// The statuses and since when, said once: the waiter's reason already
	// names the statuses of a member that is not done.
	statuses, since := "", ""
	if v.Member != nil {
		statuses = " " + v.Member.Statuses()
		if !v.Progress.Since.IsZero() {
			since = " since " + stamp(v.Progress.Since)
		}
	}
	switch v.Outcome {
	case memberwait.Done:
		if v.Member != nil && v.Member.OperatingStatus == memberwait.StatusNoMonitor {
			return ReasonServingNoMonitor, where + statuses + since +
				": ACTIVE counts as serving, but without a health monitor Octavia cannot tell whether it answers", 0
		}
		return ReasonServing, where + statuses + since, 0
	case memberwait.Pending:
		if v.MemberReached {
			// Only the load balancer is PENDING_UPDATE (another member is
			// being changed): this member serves through it.
			return ReasonServing, where + statuses + since + ", " + v.Reason, v.RetryAfter
		}
		if v.Member != nil && memberwait.IsPending(v.Member.ProvisioningStatus) {
			return ReasonMemberPending, where + ": " + v.Reason + since, v.RetryAfter
		}
		return ReasonMemberNotServing, where + ": " + v.Reason + since, v.RetryAfter
	}
	var me *memberwait.MemberError
	var nf *memberwait.NotFoundError
	var lbe *memberwait.LoadBalancerError
	switch {
	case errors.As(v.Err, &me):
		return ReasonMemberError, where + statuses + since + ": Octavia failed to provision it; delete it so CAPO re-creates it", HoldRecheck
	case errors.As(v.Err, &nf):
		return ReasonMemberMissing, fmt.Sprintf("pool %s: no member for this Machine", pool), HoldRecheck
	case errors.As(v.Err, &lbe):
		return ReasonLoadBalancerNotReady, lbe.Error(), HoldRecheck
	}
	return ReasonMemberNotServing, where + ": " + v.Reason + since, HoldRecheck
}

// hostPort formats a member's address and port; IPv6 in brackets.
func hostPort(addr string, port int) string {
	return net.JoinHostPort(addr, strconv.Itoa(port))
}

// Sooner returns the earlier of two delays, where 0 is none.
func Sooner(cur, d time.Duration) time.Duration {
	if d > 0 && (cur == 0 || d < cur) {
		return d
	}
	return cur
}
