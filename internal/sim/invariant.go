package sim

import (
	"fmt"
	"strings"
)

// Result is what one run of a scenario did.
type Result struct {
	Seed     uint64
	Kind     Kind
	Gated    bool
	Replicas int
	MaxSurge int
	CAPO     string
	// Need is what must stay serving: max(replicas−1, 1). See
	// docs/reliability.md for why.
	Need int
	// MinServing is the fewest truly serving members of live control-plane
	// Machines seen in any pool at any second.
	MinServing int
	// Violation: the invariant failed at some second (a removal while
	// another member did not serve, or fewer than Need serving), and no
	// person had released a hold by hand before. ViolationAt and
	// ViolationWhy are the first failure.
	Violation    bool
	ViolationAt  int
	ViolationWhy string
	// RuleBroken, BelowCapacity, Outage say which parts failed (before
	// any manual release): a serving member removed while another did not
	// serve; fewer than Need serving; none serving.
	RuleBroken, BelowCapacity, Outage bool
	// ManualViolation: the same, after a scripted manual release.
	ManualViolation bool
	ViolationSecs   int
	ManualReleases  int
	RolledOut       bool
	RolloutSeconds  int
	End             int
	// HeldForever: the run ended at the horizon with the gate holding a
	// deleting Machine for longer than the alert threshold; Alerted: a HeldTooLong event was recorded for it;
	// HeldButReady: the ground truth would have allowed its release (a
	// liveness bug if ever true).
	HeldForever, Alerted, HeldButReady bool
	// Excess is, per release by the gate, how long it came after the
	// ground truth first allowed it; RolloutExcess is their sum.
	Excess        []int
	RolloutExcess int
	// EarlyReleases counts releases made while the ground truth did not
	// allow them: the gate believed a member served that did not.
	EarlyReleases int
	Crashes       int
	Reconciles    int
	// OctaviaReads counts the gate's status-tree requests (the controller
	// reuses an observation between polls).
	OctaviaReads int
}

// check tests the invariant at t (see docs/reliability.md) and follows, for
// every held Machine, since when the ground truth would allow its release.
//
// Removal: when a Machine whose member truly served stops serving because
// it is removed (its etcd member goes, and its API server with it), every
// other live, non-deleting control-plane Machine that has a Node truly
// serves in every pool. Capacity: at every second, at least
// max(replicas−1, 1) members truly serve in every pool — one fewer while a
// Machine that KCP remediated has not been replaced by a serving one (KCP
// takes it out on purpose and would deadlock if it were held), never 0.
func (w *world) check(t int) {
	live := w.live()
	low := w.sc.Replicas * 2
	for p := 0; p < w.sc.Pools; p++ {
		n := 0
		for _, m := range live {
			if w.servingIn(m, p, t) {
				n++
			}
		}
		low = min(low, n)
	}
	if low != w.lastMin {
		w.tracef(t, "truth", "%d serving member(s) of live control-plane Machines (need %d)", low, max(w.res.Need-w.credit, 1))
		w.lastMin = low
	}
	w.res.MinServing = min(w.res.MinServing, low)
	for _, m := range live {
		if m.preTerm != t || !w.servedAt(m, t-1) {
			continue
		}
		if bad := w.notServing(m, t); len(bad) > 0 {
			w.violate(t, ruleBroken, fmt.Sprintf("%s removed while %s did not serve", m.name, strings.Join(bad, ", ")))
		} else if m.remediated {
			w.credit = 1
		}
	}
	if low >= w.sc.Replicas {
		w.credit = 0
	}
	if need := max(w.res.Need-w.credit, 1); low < need {
		kind := belowCapacity
		if low == 0 {
			kind = outage
		}
		w.violate(t, kind, fmt.Sprintf("%d serving, need %d", low, need))
	}
	if w.ctl == nil {
		return
	}
	for _, m := range live {
		if !m.isDeleting() || !m.hook {
			delete(w.readySince, m)
			continue
		}
		if len(w.notServing(m, t)) > 0 {
			w.readySince[m] = -1
		} else if s, ok := w.readySince[m]; !ok || s < 0 {
			w.readySince[m] = t
		}
	}
}

// The ways the invariant fails, worst last.
const (
	ruleBroken    = iota // a serving member removed while another did not serve
	belowCapacity        // fewer than max(replicas−1, 1) serving
	outage               // none serving: the API is offline
)

func (w *world) violate(t, kind int, why string) {
	w.res.ViolationSecs++
	if w.manualAt >= 0 {
		w.res.ManualViolation = true
		return
	}
	switch kind {
	case ruleBroken:
		w.res.RuleBroken = true
	case belowCapacity:
		w.res.BelowCapacity = true
	case outage:
		w.res.BelowCapacity, w.res.Outage = true, true
	}
	if !w.res.Violation {
		w.res.Violation, w.res.ViolationAt, w.res.ViolationWhy = true, t, why
		w.tracef(t, "truth", "VIOLATION: %s", why)
	}
}

// servedAt: the Machine truly served in some pool at t.
func (w *world) servedAt(m *machine, t int) bool {
	for p := 0; p < w.sc.Pools; p++ {
		if w.servingIn(m, p, t) {
			return true
		}
	}
	return false
}

// notServing applies the release rule to the ground truth: the other
// non-deleting Machines with a Node that do not truly serve in every pool.
func (w *world) notServing(m *machine, t int) []string {
	var bad []string
	for _, o := range w.live() {
		if o == m || o.isDeleting() || !o.hasNode(t) {
			continue
		}
		for p := 0; p < w.sc.Pools; p++ {
			if !w.servingIn(o, p, t) {
				bad = append(bad, o.name)
				break
			}
		}
	}
	return bad
}

// released records a hook the gate let go.
func (w *world) released(t int, m *machine, manual bool) {
	if manual {
		w.res.ManualReleases++
		if w.manualAt < 0 {
			w.manualAt = t
		}
		return
	}
	s, ok := w.readySince[m]
	if !ok || s < 0 {
		w.res.EarlyReleases++
		w.tracef(t, "truth", "EARLY RELEASE of %s: the other members do not all truly serve", m.name)
		return
	}
	w.res.Excess = append(w.res.Excess, t-s)
	w.res.RolloutExcess += t - s
}

func (w *world) finish(t int) Result {
	if w.ctl != nil {
		w.res.Reconciles, w.res.OctaviaReads = w.ctl.reconciles, w.ctl.reads
		if !w.res.RolledOut {
			for _, m := range w.live() {
				// A hold younger than the alert threshold when the run ends
				// (a rollout that manual releases dragged on) is not
				// "forever".
				if m.isDeleting() && m.hook && t-m.deleting > int(alertAfter.Seconds())+60 {
					w.res.HeldForever = true
					w.res.Alerted = w.res.Alerted || w.ctl.alerts[m.name]
					w.res.HeldButReady = w.res.HeldButReady || len(w.notServing(m, t)) == 0
				}
			}
		}
	}
	w.tracef(t, "sim", "end: rolled out %v, min serving %d (need %d), violation %v at %d, manual violation %v, held forever %v (alerted %v)",
		w.res.RolledOut, w.res.MinServing, w.res.Need, w.res.Violation, w.res.ViolationAt, w.res.ManualViolation, w.res.HeldForever, w.res.Alerted)
	return w.res
}
