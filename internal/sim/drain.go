package sim

import (
	"slices"

	"github.com/membergate/membergate/pkg/gate/cycle"
	"github.com/membergate/membergate/pkg/gate/drain"
	"github.com/membergate/membergate/pkg/memberwait"
)

// drainState is the controller's part of the drain: the drains as the
// MemberGate status keeps them (survive a crash), and the next ones, kept
// only if the status patch is made.
type drainState struct {
	drains, next []drain.State
}

// drainStep is GateReconciler.reconcileDrain on the model: read the
// weights of the members of the Machines drain.Needs names, decide with the
// real drain.Decide, send the weight changes, and carry the drain's
// decision on in place of the gate's.
func (c *controller) drainStep(t int, machines []*machine, out *cycle.Outcome) {
	c.dr.next = c.dr.drains
	period := c.w.drainPeriod
	if out.Input.Paused || out.Snapshot == nil {
		return
	}
	needs := drain.Needs(period, out.Decision, c.dr.drains)
	if len(needs) == 0 {
		c.dr.next = nil
		return
	}
	in := drain.Input{Now: at(t), Period: period, Decision: out.Decision, Drains: c.dr.drains}
	readable := c.w.lb.apiError(t, true) == nil
	for _, gm := range out.Input.Machines {
		m := c.w.byNameOne(gm.Name)
		if m == nil || !slices.Contains(needs, gm.Name) {
			continue
		}
		dm := drain.Machine{Name: gm.Name, Deleting: gm.Deleting, HasHook: gm.HasHook, HeldSince: gm.HeldSince}
		for _, p := range out.Snapshot.Pools {
			ms, ok := memberOf(m, t, p)
			if !ok {
				continue
			}
			mb := c.w.lb.byID(ms.ID)
			if mb == nil || mb.removed {
				continue
			}
			dm.Members = append(dm.Members, drain.Member{PoolID: p.ID, ID: mb.id, Weight: mb.weight(), Known: readable, ProvisioningStatus: mb.prov})
		}
		in.Machines = append(in.Machines, dm)
	}
	plan := drain.Decide(in)
	for _, a := range plan.SetWeight {
		if mb := c.w.lb.byID(a.MemberID); mb != nil {
			c.w.lb.setWeight(t, mb, a.Weight)
		}
	}
	for _, name := range plan.Drained {
		if m := c.w.byNameOne(name); m != nil {
			m.drained = true
		}
	}
	for _, name := range plan.Failed {
		if c.w.byNameOne(name) != nil {
			c.w.res.DrainsFailed++
			c.w.tracef(t, "gate", "released %s without a drain: Octavia did not apply weight 0 within %s", name, period)
		}
	}
	out.Decision = plan.Decision
	c.dr.next = plan.Drains
}

// weight is the member's weight as Octavia reports it.
func (mb *member) weight() int {
	if mb.weight0 {
		return 0
	}
	return 1
}

// setWeight starts a member's update flow (the gate's PUT): refused like a
// delete, while the load balancer or the member is PENDING_* or the API
// fails.
func (o *octavia) setWeight(t int, mb *member, weight int) bool {
	if o.apiError(t, true) != nil || o.status(t) != memberwait.StatusActive || memberwait.IsPending(mb.prov) || mb.removed {
		return false
	}
	mb.prov, mb.updAt, mb.updZero = memberwait.StatusPendingUpdate, t+mb.plan.Flow, weight == 0
	o.busyUntil = t + mb.plan.Flow
	o.w.tracef(t, "octavia", "member %s of %s: weight %d, PENDING_UPDATE until %d", mb.id, mb.m.name, weight, mb.updAt)
	return true
}

// finishUpdate ends an update flow: HAProxy gets the new weight (0: no new
// connections, the existing ones go on) when the member goes ACTIVE.
func (o *octavia) finishUpdate(t int, mb *member) {
	if mb.prov != memberwait.StatusPendingUpdate || t < mb.updAt {
		return
	}
	mb.prov, mb.weight0 = memberwait.StatusActive, mb.updZero
	o.w.tracef(t, "octavia", "member %s of %s ACTIVE with weight %d", mb.id, mb.m.name, mb.weight())
}

func (o *octavia) byID(id string) *member {
	for _, mb := range o.members {
		if mb.id == id {
			return mb
		}
	}
	return nil
}

// exposure is the ground truth the drain is for: each second during which
// HAProxy would send a new connection to a Machine whose API server has
// stopped (its etcd member removed) — the server configured, UP (the
// monitor has not noticed yet) and its weight not 0 — counts against it.
func (w *world) exposure(t int) {
	for _, m := range w.machines {
		if m.preTerm < 0 || t < m.preTerm {
			continue
		}
		for _, mb := range w.lb.members {
			if mb.m == m && mb.configured && !mb.removed && mb.up && !mb.weight0 {
				m.exposed++
				break
			}
		}
	}
}

// exposures are the seconds of exposure per Machine whose API server
// stopped, split into those the release rule let go (the drain's business)
// and the others (released by hand, or never held: a person who releases
// the last serving Machine wants it to serve to the end); and how many
// Machines released after a completed drain were exposed (must be 0).
func (w *world) exposures() (byRule, other []int, drainedLeaks int) {
	for _, m := range w.machines {
		switch {
		case m.preTerm < 0:
			continue
		case m.byRule:
			byRule = append(byRule, m.exposed)
		default:
			other = append(other, m.exposed)
		}
		if m.drained && m.exposed > 0 {
			drainedLeaks++
		}
	}
	return byRule, other, drainedLeaks
}

// DefaultDrainPeriod is the drain period the gated runs play, the
// MemberGate's default.
const DefaultDrainPeriod = drain.DefaultPeriod
