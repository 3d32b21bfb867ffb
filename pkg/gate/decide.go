package gate

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/membergate/membergate/pkg/memberwait"
)

// HoldRecheck is when a held rollout is looked at again when no member
// verdict asks for an earlier look (a member is missing, say).
const HoldRecheck = 15 * time.Second

// Decide applies the gate's rules to one observation. See SPEC.md, "The gate
// semantics": the hook on every non-deleting control-plane Machine; a
// deleting Machine released only when every other non-deleting one that has a
// Node is member-ready and at least MinServingMembers of them remain; release
// at once on deletion; nothing while paused; never release because time
// passed.
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
		requeue = sooner(requeue, r.retry)
		st := MachineStatus{Name: m.Name, MemberReady: r.ok, Reason: r.reason, Message: r.message}
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
		case m.ManualRelease != "":
			d.Release = append(d.Release, Release{Machine: m.Name, Reason: "released by hand: " + m.ManualRelease, Manual: true})
			d.Events = append(d.Events, Event{Machine: m.Name, Warning: true, Reason: EventManualRelease,
				Message: fmt.Sprintf("pre-drain hook released by hand (%s) while: %s", m.ManualRelease, holdReason(in, m, ready))})
		default:
			if why, ok := releasable(in, m, ready); ok {
				d.Release = append(d.Release, Release{Machine: m.Name, Reason: why})
				d.Events = append(d.Events, Event{Machine: m.Name, Reason: EventReleased, Message: "released the pre-drain hook: " + why})
				break
			}
			st.Held, st.HeldSince, st.Alerted = true, m.HeldSince, m.Alerted
			why := holdReason(in, m, ready)
			if st.HeldSince.IsZero() {
				st.HeldSince = in.Now
				d.Events = append(d.Events, Event{Machine: m.Name, Reason: EventHeld, Message: "holding the rollout: " + why})
			}
			held := in.Now.Sub(st.HeldSince)
			if a := in.Policy.AlertAfter; a > 0 {
				if held >= a && !st.Alerted {
					st.Alerted = true
					d.Events = append(d.Events, Event{Machine: m.Name, Warning: true, Reason: EventHeldTooLong,
						Message: fmt.Sprintf("held for %s, still: %s. The hook stays until the members serve; release by hand with the annotation if you accept the risk", held.Round(time.Second), why)})
				} else if held < a {
					requeue = sooner(requeue, a-held)
				}
			}
			requeue = sooner(requeue, HoldRecheck)
			d.Blocking = true
		}
		d.Machines = append(d.Machines, st)
	}
	for _, o := range in.Orphans {
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
	ReasonServing: 0, ReasonMemberPending: 1, ReasonMemberNotServing: 2, ReasonMemberMissing: 3,
	ReasonMemberError: 4, ReasonLoadBalancerNotReady: 5, ReasonOctaviaUnavailable: 6,
}

// memberReadiness is whether a Machine has a serving member in every pool.
func memberReadiness(in Input, m Machine) readiness {
	lb := in.LoadBalancer
	switch {
	case lb.Err != nil:
		return readiness{reason: ReasonOctaviaUnavailable, message: "Octavia could not be read: " + lb.Err.Error(), retry: HoldRecheck}
	case !lb.Found:
		return readiness{reason: ReasonLoadBalancerNotReady, message: fmt.Sprintf("load balancer %s not found", lb.ID), retry: HoldRecheck}
	case len(in.PoolIDs) == 0:
		return readiness{reason: ReasonLoadBalancerNotReady, message: fmt.Sprintf("load balancer %s has no pool behind its listeners", lb.ID), retry: HoldRecheck}
	}
	r := readiness{ok: true, reason: ReasonServing}
	var msgs []string
	for _, pool := range in.PoolIDs {
		reason, msg, retry := poolReadiness(m, pool)
		r.retry = sooner(r.retry, retry)
		if reason != ReasonServing {
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
		where += fmt.Sprintf(": member %s (%s:%d) %s since %s", v.Member.ID, v.Member.Address, v.Member.ProtocolPort,
			v.Member.Statuses(), v.Progress.Since.UTC().Format(time.RFC3339))
	}
	switch v.Outcome {
	case memberwait.Done:
		return ReasonServing, where, 0
	case memberwait.Pending:
		if v.MemberReached {
			// Only the load balancer is PENDING_UPDATE (another member is
			// being changed): this member serves through it.
			return ReasonServing, where, v.RetryAfter
		}
		if v.Member != nil && memberwait.IsPending(v.Member.ProvisioningStatus) {
			return ReasonMemberPending, where + ", " + v.Reason, v.RetryAfter
		}
		return ReasonMemberNotServing, where + ", " + v.Reason, v.RetryAfter
	}
	var me *memberwait.MemberError
	var nf *memberwait.NotFoundError
	var lbe *memberwait.LoadBalancerError
	switch {
	case errors.As(v.Err, &me):
		return ReasonMemberError, where + ": Octavia failed to provision it; delete it so CAPO re-creates it", HoldRecheck
	case errors.As(v.Err, &nf):
		return ReasonMemberMissing, fmt.Sprintf("pool %s: no member for this Machine", pool), HoldRecheck
	case errors.As(v.Err, &lbe):
		return ReasonLoadBalancerNotReady, lbe.Error(), HoldRecheck
	}
	return ReasonMemberNotServing, where + ": " + v.Reason, HoldRecheck
}

// sooner returns the earlier of two delays, where 0 is none.
func sooner(cur, d time.Duration) time.Duration {
	if d > 0 && (cur == 0 || d < cur) {
		return d
	}
	return cur
}
