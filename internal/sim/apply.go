package sim

import (
	"slices"

	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/memberwait"
)

// apply mirrors GateReconciler.apply: patch every Machine (hook added or
// removed) in order, record the events, then patch the MemberGate status. A
// crash (cut >= 0) stops after that fraction of the Machine patches; the
// status patch, last, is then lost.
func (c *controller) apply(t int, machines []*machine, in gate.Input, d gate.Decision, verdicts map[string]map[string]memberwait.Verdict, obsAt int, cut float64) {
	release := map[string]gate.Release{}
	for _, r := range d.Release {
		release[r.Machine] = r
	}
	done := len(machines)
	if cut >= 0 {
		done = int(cut * float64(len(machines)+1))
	}
	for i, m := range machines {
		if i >= done {
			return
		}
		if slices.Contains(d.AddHook, m.name) && !m.hook {
			m.hook = true
			c.w.tracef(t, "gate", "hook added to %s", m.name)
		}
		if r, ok := release[m.name]; ok && m.hook {
			m.hook = false
			c.w.released(t, m, r.Manual)
			c.w.tracef(t, "gate", "released %s: %s", m.name, r.Reason)
		}
	}
	for _, e := range d.Events {
		switch e.Reason {
		case gate.EventHeldTooLong:
			c.alerts[e.Machine] = true
			c.w.tracef(t, "gate", "ALERT %s: %s", e.Machine, e.Message)
		case gate.EventHeld:
			c.w.tracef(t, "gate", "holding %s: %s", e.Machine, e.Message)
		}
	}
	if cut >= 0 {
		return
	}
	c.status = map[string]row{}
	for _, st := range d.Machines {
		r := row{members: map[string]memberwait.Progress{}}
		if st.Held {
			r.heldSince, r.alerted = st.HeldSince, st.Alerted
		}
		for _, pool := range in.PoolIDs {
			// As the controller keeps it in the MemberGate status.
			r.members[pool] = gate.Persisted(pool, verdicts[st.Name][pool])
			if r.members[pool].OperatingStatus == memberwait.StatusOnline && !c.w.byNameOne(st.Name).outdated {
				c.w.anchor(t)
			}
		}
		c.status[st.Name] = r
	}
}
