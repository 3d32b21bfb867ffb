package sim

import (
	"slices"
	"time"

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
	byName := map[string]*machine{}
	for _, m := range machines {
		byName[m.name] = m
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
			if !r.Manual {
				c.w.event(t, AnchorRelease)
			}
		}
	}
	for _, e := range d.Events {
		switch e.Reason {
		case gate.EventHeldTooLong:
			c.alerts[byName[e.Machine]] = true
			c.w.tracef(t, "gate", "ALERT %s: %s", e.Machine, e.Message)
		case gate.EventHeld:
			c.w.tracef(t, "gate", "holding %s: %s", e.Machine, e.Message)
		case gate.EventManualReleaseIgnored:
			c.ignored++
			c.w.tracef(t, "gate", "%s: %s", e.Machine, e.Message)
		case gate.EventOrphanMember:
			c.orphaned++
			c.w.tracef(t, "gate", "orphan: %s", e.Message)
		}
	}
	if cut >= 0 {
		return
	}
	c.patchStatus(t, in, d, verdicts)
}

// patchStatus mirrors GateReconciler.patchStatus for what the gate reads
// back. A good observation rewrites each Machine's members and last
// verdict. A failed one says nothing about the members: a Machine whose
// verdict is the remembered one keeps its progress rows and last verdict,
// so that its settle window goes on (or restarts by memberwait's own rule
// after a gap); one without a remembered verdict keeps nothing. The hold and
// the manual-release sighting are written either way; the reported orphans
// and since when Octavia is unavailable are the status's own.
func (c *controller) patchStatus(t int, in gate.Input, d gate.Decision, verdicts map[string]map[string]memberwait.Verdict) {
	observed := in.LoadBalancer.Err == nil
	prev := c.status
	c.status = map[string]row{}
	for _, st := range d.Machines {
		r := row{members: map[string]memberwait.Progress{}}
		if st.Held {
			r.heldSince, r.alerted = st.HeldSince, st.Alerted
		}
		for _, gm := range in.Machines {
			if gm.Name == st.Name && gm.ManualRelease != "" {
				r.release = sighting{value: gm.ManualRelease, seen: st.ManualReleaseSeen, early: st.ManualReleaseEarly}
			}
		}
		switch {
		case !observed && st.Remembered:
			if p, ok := prev[st.Name]; ok {
				r.members, r.last = p.members, p.last
			}
		case observed:
			r.last = &gate.Verdict{MemberReady: st.MemberReady, Reason: st.Reason, Message: st.Message}
			for _, pool := range in.PoolIDs {
				// As the controller keeps it in the MemberGate status.
				r.members[pool] = gate.Persisted(pool, verdicts[st.Name][pool])
				if m := c.w.byNameOne(st.Name); r.members[pool].OperatingStatus == memberwait.StatusOnline && m != nil && !m.outdated {
					c.w.event(t, AnchorOnline)
				}
			}
		}
		c.status[st.Name] = r
	}
	if observed {
		c.orphans = map[string]string{}
		for _, o := range in.Orphans {
			c.orphans[o.ID] = o.Statuses()
		}
		c.unavailableSince = time.Time{}
	} else if c.unavailableSince.IsZero() {
		c.unavailableSince = in.Now
	}
}
