// Package drain takes a control-plane Machine's load-balancer members out
// of rotation before the gate lets the Machine go.
//
// CAPO removes a member only when the Machine's OpenStackMachine is
// deleted: after the Node is drained and after KCP has removed the
// Machine's etcd member. Until then the load balancer keeps sending new
// connections to an API server that is stopping or has lost its etcd
// member, for as long as its health monitor takes to notice
// (max_retries_down × delay: 30 s and more). So when the release rule lets
// a deleting Machine go, the gate first sets each of its members' weight to
// 0 — HAProxy sends such a server no new connections and lets the existing
// ones finish — waits until Octavia shows the change applied (the member
// ACTIVE with weight 0), waits the drain period, and only then releases the
// hook.
//
// The rules:
//   - only a release by the release rule (gate.Release.Rule) waits; a
//     release by hand, for the cluster's deletion or because the gate holds
//     nothing goes at once;
//   - only members of Machines being deleted are touched;
//   - when the release rule stops holding mid-drain (another member fails),
//     the weights are put back: the Machine may have to serve again;
//   - a member that cannot be drained (Octavia refuses, the member is in
//     ERROR) never holds the Machine for good: it is released with a
//     Warning once the drain period has passed since the drain began,
//     because holding would not make it any safer.
//
// It is pure: the controller reads the weights ([Needs] says of which
// Machines), calls [Decide], carries out [Plan.SetWeight] and keeps
// [Plan.Drains] for the next call.
package drain

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/memberwait"
)

const (
	// DefaultPeriod is the drain period when the policy names none: the
	// time between the members' leaving rotation and the hook's release.
	// Connections opened before weight 0 took effect go on to the old API
	// server; Kubernetes' API call latency objective gives the slowest
	// non-streaming calls (cluster-scoped LISTs) 30 s at the 99th
	// percentile, so a request started just before the switch finishes on
	// the server it started on. Watches are long-running and end when the
	// server stops; their clients reconnect through the load balancer, to a
	// member that serves. kubeadm sets no --shutdown-delay-duration (its
	// default is 0): nothing else gives the load balancer this time.
	DefaultPeriod = 30 * time.Second
	// RetryInterval is how often a weight change Octavia has not applied
	// is sent again (it answers 409 while the load balancer is busy).
	RetryInterval = 10 * time.Second
	// Poll is how soon a drain that is being applied is looked at again.
	Poll = 5 * time.Second
	// Absence is the longest gap between two looks at a drain under way
	// that is not the gate's absence (a restart, a leader change, Octavia
	// unreadable): the drain asks for a look every Poll, and a change is
	// sent every RetryInterval.
	Absence = RetryInterval + Poll
)

// Member is one of a Machine's members as last read from Octavia.
type Member struct {
	PoolID, ID string
	// Weight is the member's weight; Known is false when it could not be
	// read (the status tree does not carry it: it takes a GET of the
	// member).
	Weight             int
	Known              bool
	ProvisioningStatus string
}

// Machine is a control-plane Machine and its members in the load
// balancer's pools.
type Machine struct {
	Name              string
	Deleting, HasHook bool
	// HeldSince is when the gate began holding the Machine: a drain
	// continues that hold.
	HeldSince time.Time
	Members   []Member
}

// MemberState is a drained member and the weight it had before.
type MemberState struct {
	PoolID, ID string
	Weight     int
}

// State is one Machine's drain.
type State struct {
	Machine string
	// Started is when the release rule first let the Machine go and the
	// drain began.
	Started time.Time
	// LastAction is when a weight change was last sent.
	LastAction time.Time
	// LastLook is when the drain was last looked at: the time the gate
	// was away (longer than Absence between looks) does not count towards
	// the drain period that ends an undrainable drain.
	LastLook time.Time
	// Applied is when Octavia first showed every member ACTIVE with weight
	// 0 (zero: not yet).
	Applied time.Time
	// Restoring: the release rule stopped holding; the weights are being
	// put back.
	Restoring bool
	// Released: the hook went. The state stays while the Machine is being
	// deleted, so that a member CAPO creates for it afterwards (its
	// OpenStackMachine is reconciled until the Machine's drain ends) is
	// taken out of rotation too.
	Released bool
	// Members are the members drained, with their weights before.
	Members []MemberState
}

// Input is one look at the cluster after the gate's decision.
type Input struct {
	Now time.Time
	// Period is the drain period; 0 turns draining off.
	Period   time.Duration
	Decision gate.Decision
	Machines []Machine
	// Drains are the previous Plan's.
	Drains []State
}

// Action is a weight to set on a member.
type Action struct {
	Machine, PoolID, MemberID string
	Weight                    int
}

// Plan is what to do now.
type Plan struct {
	// Decision is the gate's decision with the releases that wait for a
	// drain turned into holds, the drain's events added, and its
	// RequeueAfter no later than the Plan's.
	Decision gate.Decision
	// SetWeight are the weight changes to send.
	SetWeight []Action
	// Drains replace Input.Drains.
	Drains []State
	// RequeueAfter is when a drain needs looking at again (0: none).
	RequeueAfter time.Duration
	// Drained, Undrained and Failed name the Machines whose drain
	// completed, was undone, or failed in this call (for metrics).
	Drained, Undrained, Failed []string
}

// Event reasons.
const (
	EventDraining      = "MembersDraining"
	EventDrained       = "MembersDrained"
	EventUndrained     = "MembersRestored"
	EventDrainFailed   = "MembersNotDrained"
	defaultWeight      = 1
	heldDrainingPrefix = "draining its members before the release: "
)

// Needs names the Machines whose members' weights Decide needs: those the
// release rule lets go and those with a drain under way.
func Needs(period time.Duration, d gate.Decision, drains []State) []string {
	if period <= 0 && len(drains) == 0 {
		return nil
	}
	var out []string
	for _, r := range d.Release {
		if r.Rule && period > 0 {
			out = append(out, r.Machine)
		}
	}
	for _, s := range drains {
		if !slices.Contains(out, s.Machine) {
			out = append(out, s.Machine)
		}
	}
	return out
}

// Decide applies the drain to the gate's decision.
func Decide(in Input) Plan {
	p := Plan{Decision: in.Decision}
	p.Decision.Release = nil
	p.Decision.Events = slices.Clone(in.Decision.Events)
	p.Decision.Machines = slices.Clone(in.Decision.Machines)
	machines := map[string]Machine{}
	for _, m := range in.Machines {
		machines[m.Name] = m
	}
	drains := map[string]State{}
	for _, s := range in.Drains {
		drains[s.Machine] = s
	}
	for _, rel := range in.Decision.Release {
		m, ok := machines[rel.Machine]
		if !rel.Rule || in.Period <= 0 || !ok || !m.Deleting || !m.HasHook {
			p.Decision.Release = append(p.Decision.Release, rel)
			delete(drains, rel.Machine)
			continue
		}
		s, had := drains[rel.Machine]
		delete(drains, rel.Machine)
		if !had || s.Restoring {
			s = State{Machine: m.Name, Started: in.Now}
		}
		if s, keep := p.drain(in, m, s, rel); keep {
			p.Drains = append(p.Drains, s)
		}
	}
	// What remains are drains of Machines released, of Machines the
	// release rule holds again, or of Machines gone, no longer deleting,
	// or hookless.
	for _, name := range slices.Sorted(maps.Keys(drains)) {
		s := drains[name]
		m, ok := machines[name]
		if s.Released && ok && m.Deleting {
			s.LastLook = in.Now
			p.sendZero(in, m, &s, "the Machine's hook is gone but it still has members in rotation (CAPO may create one until the Machine's drain ends): setting weight 0 on")
			p.Drains = append(p.Drains, s)
			continue
		}
		if !ok || !m.Deleting || !m.HasHook {
			continue
		}
		if s, keep := p.restore(in, m, s); keep {
			p.Drains = append(p.Drains, s)
		}
	}
	p.Decision.RequeueAfter = gate.Sooner(p.Decision.RequeueAfter, p.RequeueAfter)
	return p
}

// drain moves one released Machine's drain on: it returns the state to
// keep, or false when the release went through.
func (p *Plan) drain(in Input, m Machine, s State, rel gate.Release) (State, bool) {
	if gap := in.Now.Sub(s.LastLook); !s.LastLook.IsZero() && gap > Absence && s.Applied.IsZero() {
		// The gate was away: a change it could not send or see applied
		// meanwhile is not the member's failure.
		s.Started = s.Started.Add(gap)
	}
	s.LastLook = in.Now
	if len(m.Members) == 0 {
		// Nothing of it is in rotation any more.
		p.Decision.Release = append(p.Decision.Release, rel)
		return markReleased(s), true
	}
	for _, mb := range m.Members {
		if mb.Known && mb.Weight > 0 && !slices.ContainsFunc(s.Members, func(x MemberState) bool { return x.ID == mb.ID }) {
			s.Members = append(s.Members, MemberState{PoolID: mb.PoolID, ID: mb.ID, Weight: mb.Weight})
		}
	}
	if s.Applied.IsZero() && applied(m.Members) {
		s.Applied = in.Now
		p.Drained = append(p.Drained, m.Name)
		p.event(m.Name, false, EventDrained, fmt.Sprintf("members %s are out of rotation (weight 0, ACTIVE) %s after the drain began; the hook goes after the drain period (%s)",
			memberIDs(m.Members), in.Now.Sub(s.Started).Round(time.Second), in.Period))
	}
	switch {
	case !s.Applied.IsZero() && !in.Now.Before(s.Applied.Add(in.Period)):
		rel.Reason += fmt.Sprintf("; its members were out of rotation for %s", in.Now.Sub(s.Applied).Round(time.Second))
		p.Decision.Release = append(p.Decision.Release, rel)
		p.amendReleased(m.Name, rel.Reason)
		return markReleased(s), true
	case !s.Applied.IsZero():
		p.hold(in.Now, m, rel, "members out of rotation since "+s.Applied.UTC().Format(time.RFC3339), s.Applied.Add(in.Period).Sub(in.Now))
		return s, true
	case !in.Now.Before(s.Started.Add(in.Period)):
		p.Failed = append(p.Failed, m.Name)
		p.Decision.Release = append(p.Decision.Release, rel)
		why := fmt.Sprintf("could not take members %s out of rotation within the drain period (%s): %s; released anyway, since holding would not make it safer",
			memberIDs(m.Members), in.Period, notApplied(m.Members))
		p.amendReleased(m.Name, rel.Reason+"; "+why)
		p.event(m.Name, true, EventDrainFailed, why)
		// Still tried after the release: the Machine goes on being
		// deleted for a while, and any moment out of rotation counts.
		return markReleased(s), true
	}
	p.sendZero(in, m, &s, fmt.Sprintf("the release rule lets the Machine go (%s): taking its members out of rotation (weight 0) first", rel.Reason))
	p.hold(in.Now, m, rel, "waiting for Octavia to apply weight 0: "+notApplied(m.Members), min(Poll, s.Started.Add(in.Period).Sub(in.Now)))
	return s, true
}

// sendZero sends weight 0 to each of m's members that does not have it,
// once every RetryInterval, saying why the first time.
func (p *Plan) sendZero(in Input, m Machine, s *State, why string) {
	if !s.LastAction.IsZero() && in.Now.Before(s.LastAction.Add(RetryInterval)) {
		return
	}
	var ids []string
	for _, mb := range m.Members {
		if (!mb.Known || mb.Weight != 0) && !memberwait.IsPending(mb.ProvisioningStatus) {
			p.SetWeight = append(p.SetWeight, Action{Machine: m.Name, PoolID: mb.PoolID, MemberID: mb.ID, Weight: 0})
			ids = append(ids, mb.ID)
		}
	}
	if len(ids) == 0 {
		return
	}
	if s.LastAction.IsZero() {
		p.event(m.Name, false, EventDraining, why+": "+strings.Join(ids, ", "))
	}
	s.LastAction = in.Now
	p.RequeueAfter = gate.Sooner(p.RequeueAfter, Poll)
}

// released marks a drain whose Machine's hook goes now.
func markReleased(s State) State {
	s.Released, s.LastAction = true, time.Time{}
	return s
}

// restore puts back the weights of a Machine the release rule holds again;
// it returns the state to keep, or false when the weights are back.
func (p *Plan) restore(in Input, m Machine, s State) (State, bool) {
	if !s.Restoring {
		s.Restoring, s.LastAction = true, time.Time{}
		p.event(m.Name, true, EventUndrained, fmt.Sprintf("the release rule no longer lets the Machine go: putting its members %s back into rotation", memberIDs(m.Members)))
	}
	resend := s.LastAction.IsZero() || !in.Now.Before(s.LastAction.Add(RetryInterval))
	done := true
	for _, mb := range m.Members {
		want := defaultWeight
		if i := slices.IndexFunc(s.Members, func(x MemberState) bool { return x.ID == mb.ID }); i >= 0 {
			want = s.Members[i].Weight
		}
		if mb.Known && mb.Weight == want {
			continue
		}
		done = false
		if resend && !memberwait.IsPending(mb.ProvisioningStatus) {
			p.SetWeight = append(p.SetWeight, Action{Machine: m.Name, PoolID: mb.PoolID, MemberID: mb.ID, Weight: want})
			s.LastAction = in.Now
		}
	}
	if done {
		p.Undrained = append(p.Undrained, m.Name)
		return s, false
	}
	p.RequeueAfter = gate.Sooner(p.RequeueAfter, Poll)
	return s, true
}

// hold turns a release into a hold for the drain.
func (p *Plan) hold(now time.Time, m Machine, rel gate.Release, why string, after time.Duration) {
	p.Decision.Blocking = true
	p.RequeueAfter = gate.Sooner(p.RequeueAfter, max(after, time.Second))
	p.Decision.Events = slices.DeleteFunc(p.Decision.Events, func(e gate.Event) bool {
		return e.Machine == m.Name && e.Reason == gate.EventReleased
	})
	for i := range p.Decision.Machines {
		st := &p.Decision.Machines[i]
		if st.Name != m.Name {
			continue
		}
		st.Held, st.HeldSince = true, m.HeldSince
		if st.HeldSince.IsZero() {
			st.HeldSince = now
		}
		st.Message = heldDrainingPrefix + why + " (" + rel.Reason + "); " + st.Message
	}
}

// amendReleased gives the release event the drain's outcome.
func (p *Plan) amendReleased(machine, reason string) {
	for i, e := range p.Decision.Events {
		if e.Machine == machine && e.Reason == gate.EventReleased {
			p.Decision.Events[i].Message = "released the pre-drain hook: " + reason
		}
	}
}

func (p *Plan) event(machine string, warning bool, reason, msg string) {
	p.Decision.Events = append(p.Decision.Events, gate.Event{Machine: machine, Warning: warning, Reason: reason, Message: msg})
}

// applied: every member ACTIVE with weight 0.
func applied(ms []Member) bool {
	for _, mb := range ms {
		if !mb.Known || mb.Weight != 0 || mb.ProvisioningStatus != memberwait.StatusActive {
			return false
		}
	}
	return true
}

// notApplied says which members are not yet ACTIVE with weight 0.
func notApplied(ms []Member) string {
	var out []string
	for _, mb := range ms {
		switch {
		case !mb.Known:
			out = append(out, mb.ID+" weight unread")
		case mb.Weight != 0 || mb.ProvisioningStatus != memberwait.StatusActive:
			out = append(out, fmt.Sprintf("%s weight %d %s", mb.ID, mb.Weight, mb.ProvisioningStatus))
		}
	}
	return strings.Join(out, ", ")
}

func memberIDs(ms []Member) string {
	ids := make([]string, 0, len(ms))
	for _, mb := range ms {
		ids = append(ids, mb.ID)
	}
	return strings.Join(ids, ", ")
}
