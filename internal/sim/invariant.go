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
	// ManualIgnored counts ManualReleaseIgnored events (an annotation there
	// before the deletion), OrphanEvents OrphanMember events.
	ManualIgnored, OrphanEvents int
	// Exposure is, per Machine the release rule let go whose API server
	// stopped, the seconds the load balancer would have sent it new
	// connections after that; ExposureOther the same for the Machines
	// released otherwise (by hand, never held). DrainLeaks counts Machines
	// released after a completed drain with an exposure all the same (must
	// be 0), DrainsFailed releases made after the drain period without a
	// drain.
	Exposure, ExposureOther  []int
	DrainLeaks, DrainsFailed int
	// Remediation is what member remediation did (remediation.go).
	Remediation RemediationResult
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
//
// A member a fault takes out (a recreate: deleted, its API server
// unreachable) is not the gate's doing: the floor is lower by the Machines
// out that way until they serve again, and the removal rule excuses a
// Machine whose fault began after the removed one's hook was let go. One
// whose fault began before is not excused: the gate should have held.
func (w *world) check(t int) {
	live := w.live()
	out := 0
	for _, m := range live {
		if m.cutFrom < 0 || t < m.cutFrom || m.healed {
			continue
		}
		if t >= m.cutTo && w.servesAll(m, t) {
			m.healed = true
			continue
		}
		out++
	}
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
	w.res.MinServing = min(w.res.MinServing, low)
	for _, m := range live {
		if m.preTerm != t || !w.servedAt(m, t-1) {
			continue
		}
		if bad := w.notServing(m, t, true); len(bad) > 0 {
			w.violate(t, ruleBroken, fmt.Sprintf("%s removed while %s did not serve", m.name, strings.Join(bad, ", ")))
		} else if m.remediated {
			w.credit = 1
		}
	}
	if low >= w.sc.Replicas {
		w.credit = 0
	}
	floor := max(w.res.Need-w.credit, 1) - out
	if low != w.lastMin {
		w.tracef(t, "truth", "%d serving member(s) of live control-plane Machines (need %d)", low, floor)
		w.lastMin = low
	}
	if low < floor {
		kind := belowCapacity
		if low == 0 {
			kind = outage
		}
		w.violate(t, kind, fmt.Sprintf("%d serving, need %d", low, floor))
	}
	if w.ctl == nil {
		return
	}
	for _, m := range live {
		if !m.isDeleting() || !m.hook {
			delete(w.readySince, m)
			continue
		}
		if len(w.notServing(m, t, false)) > 0 {
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

// servesAll: the Machine truly serves in every pool at t.
func (w *world) servesAll(m *machine, t int) bool {
	for p := 0; p < w.sc.Pools; p++ {
		if !w.servingIn(m, p, t) {
			return false
		}
	}
	return true
}

// notServing applies the release rule to the ground truth: the other
// non-deleting Machines with a Node that do not truly serve in every pool.
// removal: at m's removal, excusing those a fault took out after m's hook
// was let go.
func (w *world) notServing(m *machine, t int, removal bool) []string {
	var bad []string
	for _, o := range w.live() {
		if o == m || o.isDeleting() || !o.hasNode(t) {
			continue
		}
		if removal && o.cutFrom > m.hookOff && !o.healed {
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

// released records a hook the gate let go. A release by the annotation is
// a person's only when the scripted person set its value; one that was on
// the Machine before (a template's) is the gate's doing.
func (w *world) released(t int, m *machine, manual bool) {
	m.hookOff = t
	if manual && m.byPerson {
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
	w.res.Exposure, w.res.ExposureOther, w.res.DrainLeaks = w.exposures()
	w.finishRemediation()
	if w.ctl != nil {
		w.res.Reconciles, w.res.OctaviaReads = w.ctl.reconciles, w.ctl.reads
		w.res.ManualIgnored, w.res.OrphanEvents = w.ctl.ignored, w.ctl.orphaned
		if !w.res.RolledOut {
			for _, m := range w.live() {
				// A hold younger than the alert threshold when the run ends
				// (a rollout that manual releases dragged on) is not
				// "forever".
				if m.isDeleting() && m.hook && t-m.deleting > int(alertAfter.Seconds())+60 {
					w.res.HeldForever = true
					w.res.Alerted = w.res.Alerted || w.ctl.alerts[m]
					w.res.HeldButReady = w.res.HeldButReady || len(w.notServing(m, t, false)) == 0
				}
			}
		}
	}
	w.tracef(t, "sim", "end: rolled out %v, min serving %d (need %d), violation %v at %d, manual violation %v, held forever %v (alerted %v)",
		w.res.RolledOut, w.res.MinServing, w.res.Need, w.res.Violation, w.res.ViolationAt, w.res.ManualViolation, w.res.HeldForever, w.res.Alerted)
	return w.res
}
