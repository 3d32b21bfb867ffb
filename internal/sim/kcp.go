package sim

import "slices"

// kcpGap is how often KCP acts: it reconciles on events and requeues, and
// each scale step is one reconcile.
const kcpGap = 5

// stepDeletion is CAPI's Machine controller for a deleting Machine: wait
// for pre-drain hooks, drain, run KCP's pre-terminate step (etcd member
// removal: the API server on the node stops), delete the infrastructure.
func (w *world) stepDeletion(t int, m *machine) {
	if !m.isDeleting() {
		return
	}
	switch {
	case m.drainEnd < 0:
		if m.hook && !w.lastControlPlane(m) {
			return
		}
		m.drainEnd = t + m.plan.Drain
		if m.hookOff < 0 {
			m.hookOff = t // nothing gated it
		}
		w.tracef(t, "capi", "%s draining until %d", m.name, m.drainEnd)
	case m.preTerm < 0 && t >= m.drainEnd:
		m.preTerm = t
		w.tracef(t, "kcp", "%s pre-terminate: etcd member removed, its API server stops", m.name)
	case m.preTerm >= 0 && m.infraDel < 0 && t >= m.preTerm+m.plan.PreTerminate:
		m.infraDel = t
	}
}

// lastControlPlane: CAPI does not hold the last control-plane Machine for a
// hook. A rollout never gets there (maxSurge 1 adds first; maxSurge 0 needs
// three replicas); it is modelled because the brief says CAPI behaves so.
func (w *world) lastControlPlane(m *machine) bool {
	for _, o := range w.machines {
		if o != m && !o.gone {
			return false
		}
	}
	return true
}

// stepKCP is KubeadmControlPlane's rollout and remediation logic: nothing
// while a Machine is deleting; remediate an MHC-unhealthy Machine when no
// Machine is still provisioning; otherwise scale up or down one Machine at a
// time, each step only when the other Machines are healthy (KCP's preflight
// checks look at Nodes and control-plane pods, never at load-balancer
// members).
func (w *world) stepKCP(t int) {
	if t < w.nextKCP || t < w.sc.RolloutAt {
		return
	}
	live := w.live()
	for _, m := range live {
		if m.isDeleting() {
			return
		}
	}
	if w.remediate(t, live) {
		return
	}
	var outdated []*machine
	for _, m := range live {
		if m.outdated {
			outdated = append(outdated, m)
		}
	}
	n, r := len(live), w.sc.Replicas
	switch {
	case n < r || (len(outdated) > 0 && w.sc.MaxSurge == 1 && n == r):
		if w.preflight(t, live, nil) {
			w.scaleUp(t)
		}
	case len(outdated) > 0:
		if victim := outdated[0]; w.preflight(t, live, victim) {
			w.delete(t, victim, "scale down (rollout)")
		}
	case n > r:
		if w.preflight(t, live, live[0]) {
			w.delete(t, live[0], "scale down")
		}
	}
}

// preflight: every Machine but the one about to go is healthy.
func (w *world) preflight(t int, live []*machine, except *machine) bool {
	for _, m := range live {
		if m != except && !m.healthy(t) {
			return false
		}
	}
	return true
}

// remediate deletes a Machine MHC marked unhealthy, out of order, under
// KCP's rules: more than one replica, no Machine still provisioning.
func (w *world) remediate(t int, live []*machine) bool {
	rem := w.sc.Remediation
	if rem == nil || w.sc.Replicas < 2 {
		return false
	}
	for _, m := range live {
		if m.kubeletDead < 0 || m.remediated || t < m.kubeletDead+rem.MHCTimeout {
			continue
		}
		for _, o := range live {
			if !o.hasNode(t) {
				return false
			}
		}
		m.remediated = true
		w.delete(t, m, "remediation: MHC marked it unhealthy")
		return true
	}
	return false
}

// killKubelet makes the scripted remediation's Machine unhealthy.
func (w *world) killKubelet(t int) {
	rem := w.sc.Remediation
	if rem == nil || t != rem.At {
		return
	}
	var cands []*machine
	for _, m := range w.live() {
		if !m.isDeleting() && m.hasNode(t) {
			cands = append(cands, m)
		}
	}
	if len(cands) == 0 {
		return
	}
	m := cands[int(rem.Pick*float64(len(cands)))]
	m.kubeletDead = t
	w.tracef(t, "fault", "%s: kubelet dead, Node NotReady (its API server keeps serving)", m.name)
}

func (w *world) scaleUp(t int) {
	if w.nextPlan >= len(w.sc.Machines) {
		return // out of plans: the run is far off any realistic rollout
	}
	m := newMachine(w, t, w.nextPlan, false)
	w.nextPlan++
	w.machines = append(w.machines, m)
	w.nextKCP = t + kcpGap
	w.tracef(t, "kcp", "scale up: created %s (plan %d)", m.name, m.k)
	w.changed(t)
}

func (w *world) delete(t int, m *machine, why string) {
	m.deleting = t
	w.nextKCP = t + kcpGap
	w.tracef(t, "kcp", "%s: deleting %s (hook: %v)", why, m.name, m.hook)
	w.changed(t)
}

// live returns the Machines that are not gone, oldest first.
func (w *world) live() []*machine {
	out := make([]*machine, 0, len(w.machines))
	for _, m := range w.machines {
		if !m.gone {
			out = append(out, m)
		}
	}
	slices.SortStableFunc(out, func(a, b *machine) int { return a.created - b.created })
	return out
}

// rolledOut: no outdated Machine left, the replica count reached, nothing
// deleting, every Machine healthy (what KCP calls rolled out).
func (w *world) rolledOut(t int) bool {
	live := w.live()
	if len(live) != w.sc.Replicas {
		return false
	}
	for _, m := range live {
		if m.outdated || m.isDeleting() || !m.healthy(t) {
			return false
		}
	}
	return true
}
