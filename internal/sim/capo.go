package sim

import "github.com/membergate/membergate/pkg/memberwait"

// capoRetry is how soon CAPO tries a failed member call again (409 while the
// LB is PENDING_*, or an API fault): its reconcile requeues.
const capoRetry = 10

// stepCAPO is CAPO's OpenStackMachine controller for one Machine. v0.12 and
// v0.13 add the member, wait for the load balancer (not the member) to be
// ACTIVE and mark the machine ready; v0.14+ marks it ready first and adds the
// member afterwards. Members are deleted only when the Machine's
// infrastructure is deleted, after the hook, the drain and KCP's
// pre-terminate step.
func (w *world) stepCAPO(t int, m *machine) {
	if m.serverUp < 0 && t >= m.created+m.plan.ServerUp {
		m.serverUp = t
		if w.sc.CAPO == "v0.14" {
			m.ready = t + m.plan.CAPOReady
			m.memberDue = m.ready + m.plan.MemberLag
		} else {
			m.memberDue = t + m.plan.MemberLag
		}
	}
	if m.serverUp < 0 {
		return
	}
	if m.infraDel >= 0 {
		w.capoDelete(t, m)
		return
	}
	if m.memberDue >= 0 && t >= m.memberDue {
		w.capoAddMembers(t, m)
	}
	if m.ready < 0 && m.memberDue < 0 && w.lb.status(t) == memberwait.StatusActive {
		// v0.12/v0.13: every member added and the load balancer ACTIVE —
		// whatever the members' own statuses.
		m.ready = t + m.plan.CAPOReady
		w.tracef(t, "capo", "%s ready at %d (load balancer ACTIVE)", m.name, m.ready)
	}
	if m.node < 0 && m.ready >= 0 && t >= m.ready && t >= m.joinAt {
		m.node = t
		w.tracef(t, "capi", "%s has its Node (API server up since %d)", m.name, m.apiUp)
		w.changed(t)
	}
}

// capoAddMembers adds the Machine's missing members, one call per pool; a
// call that fails is retried on the next reconcile.
func (w *world) capoAddMembers(t int, m *machine) {
	for p, mb := range m.members {
		if mb != nil && !mb.removed {
			continue
		}
		plan := m.plan.Members[p]
		if mb != nil {
			// Re-created after a person or the gate deleted it: a normal
			// member, unless the ERROR's cause persists.
			plan = w.recreatedPlan(m, p, plan)
		}
		created, ok := w.lb.create(t, m, p, plan)
		if !ok {
			m.memberDue = t + capoRetry
			return
		}
		m.members[p] = created
		// The next pool's member waits for the load balancer again.
		m.memberDue = t + plan.Flow
		return
	}
	m.memberDue = -1
}

// capoDelete deletes the Machine's members, then its server.
func (w *world) capoDelete(t int, m *machine) {
	if t < m.infraDel {
		return
	}
	for _, mb := range w.lb.members {
		if mb.m != m || mb.removed || mb.prov == memberwait.StatusPendingDelete {
			continue
		}
		if !w.lb.remove(t, mb) {
			m.infraDel = t + capoRetry
		}
		return
	}
	for _, mb := range w.lb.members {
		if mb.m == m && !mb.removed {
			return // PENDING_DELETE
		}
	}
	if m.goneAt < 0 {
		m.goneAt = t + m.plan.InfraDelete
	}
	if t >= m.goneAt {
		m.gone = true
		w.freed = append(w.freed, freed{ip: m.ip, name: m.name})
		w.tracef(t, "capi", "%s gone", m.name)
		w.changed(t)
	}
}

// personFixesError plays the operator who deletes an ERROR member once
// alerted, so that CAPO re-creates it.
func (w *world) personFixesError(t int) {
	if w.sc.FixErrorAfter <= 0 {
		return
	}
	for _, m := range w.machines {
		for _, mb := range m.members {
			if mb == nil || mb.prov != memberwait.StatusError || t < mb.doneAt+w.sc.FixErrorAfter {
				continue
			}
			if w.lb.remove(t, mb) {
				w.res.Remediation.PersonFixes++
				w.tracef(t, "person", "deleted ERROR member %s of %s; CAPO will re-create it", mb.id, m.name)
				// CAPO notices at its next resync.
				m.memberDue = t + mb.plan.Flow + 30
			}
		}
	}
}
