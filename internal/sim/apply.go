package sim

import (
	"slices"
	"time"

	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/gate/cycle"
	"github.com/membergate/membergate/pkg/memberwait"
)

// apply carries a decision out as GateReconciler.apply does: patch every
// Machine (hook added or removed) in order, record the events, then patch
// the MemberGate status. A crash (cut >= 0) stops after that fraction of
// the Machine patches; the status patch, last, is then lost.
func (c *controller) apply(t int, machines []*machine, out cycle.Outcome, cut float64) {
	d := out.Decision
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
			m.hook, m.byRule = false, r.Rule
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
	c.patchStatus(t, out)
}

// patchStatus writes what the gate reads back: the Machines' rows as
// cycle.Outcome.Rows leaves them, the orphans reported, and since when
// Octavia is unavailable.
func (c *controller) patchStatus(t int, out cycle.Outcome) {
	in := out.Input
	observed := in.LoadBalancer.Err == nil
	rows := map[string]cycle.Row{}
	for _, r := range out.Rows(c.mem.Rows) {
		rows[r.Name] = r
		if !observed {
			continue
		}
		for _, mb := range r.Members {
			if m := c.w.byNameOne(r.Name); mb.Progress.OperatingStatus == memberwait.StatusOnline && m != nil && !m.outdated {
				c.w.event(t, AnchorOnline)
			}
		}
	}
	c.mem.Rows = rows
	if observed {
		c.mem.ReportedOrphans = map[string]string{}
		for _, o := range in.Orphans {
			c.mem.ReportedOrphans[o.ID] = o.Statuses()
		}
		c.mem.UnavailableSince = time.Time{}
	} else if c.mem.UnavailableSince.IsZero() {
		c.mem.UnavailableSince = in.Now
	}
}
