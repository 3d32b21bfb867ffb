// Package remediate decides what the gate does about a control-plane
// Machine's load-balancer member in provisioning ERROR, when a cluster's
// policy asks for it (remediation: Recreate).
//
// Octavia never retries a member it failed to provision, and CAPO skips a
// member whose address matches its Machine's, so such a member stays in
// ERROR for good and the gate holds the rollout until a person acts. The
// remedy a person would apply is to delete the member and let CAPO create it
// again; this package plans exactly that, bounded:
//
//   - at most [MaxAttemptsPerHour] attempts per member (Machine and pool) in
//     any hour, the n-th no sooner than [Backoff]·2^(n-2) after the one
//     before it;
//   - none while more than one member of the load balancer is in ERROR at
//     once: that is a fault of the cloud (the amphora, the provider), not of
//     a member, and deleting members would only make it worse. The members
//     of Machines being deleted do not count: the gate may hold such a
//     Machine until the other members serve, so its member in ERROR would
//     keep the breaker tripped, and the rollout held, for good;
//   - only members of Machines that are not being deleted.
//
// It is pure: the controller observes, calls [Decide] and carries out the
// [Plan] (deletes the members, pokes the infrastructure Machines so that
// CAPO reconciles them promptly) and keeps [Plan.Attempts] for the next
// call.
package remediate

import (
	"fmt"
	"slices"
	"time"

	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/memberwait"
)

const (
	// MaxAttemptsPerHour bounds the attempts for one member in any hour:
	// a member that fails three times in a row fails for a reason a
	// fourth attempt will not change.
	MaxAttemptsPerHour = 3
	// Backoff is the wait before the second attempt; it doubles for each
	// attempt after that within the hour.
	Backoff = 2 * time.Minute
	// PokeInterval is how often an attempt is pushed along: the member's
	// delete issued again while it stays in ERROR (Octavia answers 409
	// while the load balancer is busy), the infrastructure Machine poked
	// again while no new member appears.
	PokeInterval = time.Minute
	// Window is how far back attempts count.
	Window = time.Hour
)

// Phase is where an attempt stands.
type Phase string

const (
	// Deleting: the member's delete was sent; it is still there.
	Deleting Phase = "Deleting"
	// Recreating: the member is gone; CAPO has been poked to create it
	// again.
	Recreating Phase = "Recreating"
	// Recreated: a new member for the Machine appeared. Whether it serves
	// is the gate's ordinary judgement.
	Recreated Phase = "Recreated"
	// Exhausted marks a member in ERROR that got no attempt because the
	// hour's attempts are spent; it is recorded so that this is said once.
	Exhausted Phase = "Exhausted"
)

// Member is a gated Machine's place in one pool, as last observed.
type Member struct {
	Machine string
	// Deleting: the Machine is being deleted; CAPO removes its member.
	Deleting bool
	PoolID   string
	// Present: the pool has a member for the Machine; ID, Address and
	// ProvisioningStatus describe it.
	Present            bool
	ID, Address        string
	ProvisioningStatus string
}

// Attempt is one remediation of one member.
type Attempt struct {
	Machine, PoolID string
	// MemberID and Address are the member in ERROR that was deleted.
	MemberID, Address string
	Started           time.Time
	Phase             Phase
	// LastAction is when the delete was last sent or the infrastructure
	// Machine last poked.
	LastAction time.Time
	// NewMemberID is the member that replaced it (Recreated).
	NewMemberID string
}

// Input is one look at a load balancer's members.
type Input struct {
	Now time.Time
	// Enabled: the policy asks for remediation and the gate acts (Enforce,
	// not paused, the cluster not deleting, Octavia read).
	Enabled bool
	Members []Member
	// ErrorMembers counts the load balancer's members in provisioning
	// ERROR, orphans included; those of the Members whose Machine is
	// being deleted are taken off it for the breaker.
	ErrorMembers int
	// Attempts and Suspended are the previous Plan's.
	Attempts  []Attempt
	Suspended string
}

// Action is a member to delete or an infrastructure Machine to poke.
type Action struct {
	Machine, PoolID, MemberID string
}

// Plan is what to do now.
type Plan struct {
	// Delete are the members to delete (an absent one counts as deleted).
	Delete []Action
	// Poke are the Machines whose infrastructure Machine CAPO should
	// reconcile now, to create their member again.
	Poke []string
	// Attempts replace Input.Attempts.
	Attempts []Attempt
	// Suspended says why no new attempt is made, empty when none is
	// suspended.
	Suspended string
	Events    []gate.Event
	// RequeueAfter is when an attempt needs looking at again (0: none).
	RequeueAfter time.Duration
}

// Event reasons.
const (
	EventRecreating = "MemberRecreating"
	EventRecreated  = "MemberRecreated"
	EventExhausted  = "MemberRemediationExhausted"
	EventSuspended  = "MemberRemediationSuspended"
	EventResumed    = "MemberRemediationResumed"
)

type key struct{ machine, pool string }

// Decide plans the next steps.
func Decide(in Input) Plan {
	var p Plan
	if !in.Enabled {
		// Nothing is carried on: a paused or audited cluster keeps its
		// record, and the next enabled call resumes from it.
		p.Attempts, p.Suspended = in.Attempts, in.Suspended
		return p
	}
	members := map[key]Member{}
	for _, m := range in.Members {
		members[key{m.Machine, m.PoolID}] = m
	}
	requeue := func(d time.Duration) {
		if d > 0 && (p.RequeueAfter == 0 || d < p.RequeueAfter) {
			p.RequeueAfter = d
		}
	}

	p.Suspended = suspension(in)
	switch {
	case p.Suspended != "" && in.Suspended == "":
		p.Events = append(p.Events, gate.Event{Warning: true, Reason: EventSuspended, Message: p.Suspended})
	case p.Suspended == "" && in.Suspended != "":
		p.Events = append(p.Events, gate.Event{Reason: EventResumed,
			Message: "at most one member is in provisioning ERROR again: members in ERROR are recreated again"})
	}

	inProgress := map[key]bool{}
	for _, a := range in.Attempts {
		k := key{a.Machine, a.PoolID}
		m, known := members[k]
		switch {
		case a.Phase == Deleting || a.Phase == Recreating:
			if !known || m.Deleting {
				// The Machine is gone or going: CAPO removes its member.
				continue
			}
			a = advance(&p, a, m, in.Now)
			if a.Phase != Recreated {
				inProgress[k] = true
				requeue(a.LastAction.Add(PokeInterval).Sub(in.Now))
			}
		case in.Now.Sub(a.Started) >= Window:
			continue // out of the hour: forgotten
		}
		p.Attempts = append(p.Attempts, a)
	}

	for _, m := range in.Members {
		k := key{m.Machine, m.PoolID}
		if !m.Present || m.Deleting || m.ProvisioningStatus != memberwait.StatusError || inProgress[k] || p.Suspended != "" {
			continue
		}
		n, last, exhausted := history(p.Attempts, k, m.ID)
		if n >= MaxAttemptsPerHour {
			if !exhausted {
				p.Attempts = append(p.Attempts, Attempt{Machine: m.Machine, PoolID: m.PoolID, MemberID: m.ID, Address: m.Address, Started: in.Now, Phase: Exhausted})
				p.Events = append(p.Events, gate.Event{Machine: m.Machine, Warning: true, Reason: EventExhausted, Message: fmt.Sprintf(
					"member %s (%s, pool %s) is in provisioning ERROR again after %d attempts to recreate it within an hour: left alone; delete it by hand once the cause is found",
					short(m.ID), m.Address, short(m.PoolID), n)})
			}
			continue
		}
		if n > 0 {
			if wait := last.Add(Backoff << (n - 1)).Sub(in.Now); wait > 0 {
				requeue(wait)
				continue
			}
		}
		p.Delete = append(p.Delete, Action{Machine: m.Machine, PoolID: m.PoolID, MemberID: m.ID})
		p.Attempts = append(p.Attempts, Attempt{Machine: m.Machine, PoolID: m.PoolID, MemberID: m.ID, Address: m.Address,
			Started: in.Now, Phase: Deleting, LastAction: in.Now})
		p.Events = append(p.Events, gate.Event{Machine: m.Machine, Warning: true, Reason: EventRecreating, Message: fmt.Sprintf(
			"member %s (%s, pool %s) is in provisioning ERROR, which Octavia never retries: deleting it so that CAPO creates it again (attempt %d of %d this hour)",
			short(m.ID), m.Address, short(m.PoolID), n+1, MaxAttemptsPerHour)})
		requeue(PokeInterval)
	}
	return p
}

// advance moves an attempt under way on by what was observed.
func advance(p *Plan, a Attempt, m Member, now time.Time) Attempt {
	due := now.Sub(a.LastAction) >= PokeInterval
	switch {
	case m.Present && m.ID != a.MemberID:
		a.Phase, a.NewMemberID = Recreated, m.ID
		p.Events = append(p.Events, gate.Event{Machine: a.Machine, Reason: EventRecreated, Message: fmt.Sprintf(
			"member %s (%s, pool %s) replaces %s, deleted in provisioning ERROR %s ago; the gate waits for it to serve",
			short(m.ID), m.Address, short(a.PoolID), short(a.MemberID), now.Sub(a.Started).Round(time.Second))})
	case m.Present:
		// The delete has not taken effect: Octavia refused it (409 while
		// the load balancer is busy) or is still deleting.
		if due && m.ProvisioningStatus == memberwait.StatusError {
			p.Delete = append(p.Delete, Action{Machine: a.Machine, PoolID: a.PoolID, MemberID: a.MemberID})
			a.LastAction = now
		}
	default:
		// Gone: CAPO creates it on its next reconcile of the Machine, which
		// a poke brings forward.
		if a.Phase == Deleting || due {
			p.Poke = appendOnce(p.Poke, a.Machine)
			a.LastAction = now
		}
		a.Phase = Recreating
	}
	return a
}

// history counts the attempts on a member's place within the window, the
// start of the latest, and whether member id was already reported
// exhausted.
func history(attempts []Attempt, k key, id string) (n int, last time.Time, exhausted bool) {
	for _, a := range attempts {
		if a.Machine != k.machine || a.PoolID != k.pool {
			continue
		}
		if a.Phase == Exhausted {
			exhausted = exhausted || a.MemberID == id
			continue
		}
		n++
		if a.Started.After(last) {
			last = a.Started
		}
	}
	return n, last, exhausted
}

func suspension(in Input) string {
	n := in.ErrorMembers
	for _, m := range in.Members {
		// Held, possibly by the gate itself, until the other members
		// serve: counting its member would keep the breaker tripped.
		if m.Deleting && m.Present && m.ProvisioningStatus == memberwait.StatusError {
			n--
		}
	}
	if n <= 1 {
		return ""
	}
	return fmt.Sprintf("%d members of the load balancer are in provisioning ERROR at once: a fault of the cloud (the amphora, the provider), not of a member; no member is recreated until at most one is", n)
}

func appendOnce(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// Candidate is a control-plane Machine as [Members] places it: its name,
// whether it is being deleted, and how to find its member in a pool.
type Candidate struct {
	Name     string
	Deleting bool
	Find     func(memberwait.PoolStatus) (memberwait.MemberStatus, bool)
}

// Members places each Machine in each pool of the snapshot, and counts the
// load balancer's members in provisioning ERROR (orphans included): the
// Input's Members and ErrorMembers. The controller and the simulation both
// read their observation through it.
func Members(snap *memberwait.Snapshot, machines []Candidate) ([]Member, int) {
	var out []Member
	errored := 0
	for _, p := range snap.Pools {
		for _, ms := range p.Members {
			if ms.ProvisioningStatus == memberwait.StatusError {
				errored++
			}
		}
	}
	for _, m := range machines {
		for _, p := range snap.Pools {
			rm := Member{Machine: m.Name, Deleting: m.Deleting, PoolID: p.ID}
			if ms, ok := m.Find(p); ok {
				rm.Present, rm.ID, rm.Address, rm.ProvisioningStatus = true, ms.ID, ms.Address, ms.ProvisioningStatus
			}
			out = append(out, rm)
		}
	}
	return out, errored
}
