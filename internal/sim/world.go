package sim

import (
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/gate/cycle"
	"github.com/membergate/membergate/pkg/memberwait"
)

// Horizon is the longest a run lasts, in virtual seconds: a rollout still
// held then is "held forever".
const Horizon = 3 * 60 * 60

// tail is how long a run goes on after the rollout completed, to catch late
// harm (a member that never serves).
const tail = 300

// world is one run: the cluster, Octavia, and the gate's controller when the
// run is gated.
type world struct {
	sc     Scenario
	rng    *rand.Rand    // run-time randomness: memberwait's jitter
	settle time.Duration // Options.SettleWindow
	// drainPeriod is the gate's drain period (0: off).
	drainPeriod time.Duration
	lb          *octavia
	machines    []*machine
	nextPlan    int
	nextKCP     int
	ctl         *controller // nil: no gate
	trace       io.Writer
	res         Result
	// readySince is, per held Machine, since when the ground truth would
	// allow its release (-1: it would not).
	readySince map[*machine]int
	manualAt   int
	lastMin    int
	// credit lowers the capacity floor by one after a remediation (see
	// check).
	credit int
	// anchored, ended: the drill's anchor event came, its Until event
	// came; anchorCrash, anchorOutage index the faults it added (-1: none).
	anchored, ended           bool
	anchorCrash, anchorOutage int
	// freed are the addresses and names of the Machines gone, in order.
	freed []freed
	// recreated marks the scenario's Recreates done.
	recreated []bool
	now       int // the second being played
	// errs: the ERROR faults and member remediation (remediation.go).
	errs errorWorld
}

// freed is a gone Machine's address and name, free to be taken again.
type freed struct{ ip, name string }

// takeFreed returns the address (and name) of the Machine that went last,
// unless a live Machine holds either.
func (w *world) takeFreed() (freed, bool) {
	for i := len(w.freed) - 1; i >= 0; i-- {
		f := w.freed[i]
		if slices.ContainsFunc(w.live(), func(m *machine) bool { return m.ip == f.ip || m.name == f.name }) {
			continue
		}
		w.freed = slices.Delete(w.freed, i, i+1)
		return f, true
	}
	return freed{}, false
}

// event is a moment a drill may anchor its faults to: it schedules the
// anchored faults the first time their event comes, and ends them at their
// Until event.
func (w *world) event(t int, ev AnchorEvent) {
	a := w.sc.Anchor
	if a == nil {
		return
	}
	on := a.On
	if on == AnchorNone {
		on = AnchorOnline
	}
	switch {
	case ev == on && !w.anchored:
		w.anchored = true
		w.schedule(t, a)
	case ev == a.Until && w.anchored && !w.ended:
		w.ended = true
		end := t + a.UntilAfter
		if i := w.anchorCrash; i >= 0 {
			c := &w.sc.Crashes[i]
			c.Down = max(min(c.Down, end-c.At), 1)
			if w.ctl != nil && w.ctl.downTo > end {
				w.ctl.downTo = end
			}
		}
		if i := w.anchorOutage; i >= 0 {
			f := &w.sc.APIFaults[i]
			f.To = min(f.To, max(end, f.From+1))
		}
		w.tracef(t, "drill", "until: anchored crash and outage end at %d", end)
	}
}

// schedule adds a drill's anchored faults, relative to t.
func (w *world) schedule(t int, a *Anchor) {
	if c := a.Crash; c.Down > 0 {
		c.At += t
		w.anchorCrash = len(w.sc.Crashes)
		w.sc.Crashes = append(w.sc.Crashes, c)
		w.tracef(t, "drill", "anchor: controller down from %d for %s", c.At, until(a, c.Down))
	}
	if f := a.Failover; f.To > f.From {
		f.From, f.To = t+f.From, t+f.To
		w.sc.Failovers = append(w.sc.Failovers, f)
		slices.SortFunc(w.sc.Failovers, func(a, b FailoverPlan) int { return a.From - b.From })
		w.tracef(t, "drill", "anchor: failover from %d to %d (statuses frozen: %v)", f.From, f.To, f.Frozen)
	}
	if o := a.Outage; o.To > o.From {
		f := APIFault{Window: Window{From: t + o.From, To: t + o.To}, Code: 503, GateOnly: a.GateOnly}
		w.anchorOutage = len(w.sc.APIFaults)
		w.sc.APIFaults = append(w.sc.APIFaults, f)
		w.tracef(t, "drill", "anchor: Octavia API down (503, the gate's requests only: %v) from %d for %s", a.GateOnly, f.From, until(a, o.To-o.From))
	}
}

func until(a *Anchor, d int) string {
	if a.Until != AnchorNone {
		return fmt.Sprintf("%d s at most, until %d s after event %d", d, a.UntilAfter, a.Until)
	}
	return fmt.Sprintf("%d s", d)
}

// Options say how to run a scenario.
type Options struct {
	// Gate runs the gate; without it nothing holds the rollout (the
	// baseline).
	Gate bool
	// Trace, when set, receives a line per event.
	Trace io.Writer
	// SettleWindow, when set, fixes the gate's settle window (a
	// MemberGate's settleWindow); zero is Auto, the default.
	SettleWindow time.Duration
	// NoDrain turns the drain of released Machines' members off (the
	// MemberGate's drainPeriod: 0s); the gated runs drain for
	// DefaultDrainPeriod otherwise.
	NoDrain bool
}

func newWorld(sc Scenario, o Options) *world {
	// The scenario's slices are extended by anchored faults: copy them.
	sc.Crashes, sc.Failovers, sc.APIFaults = slices.Clone(sc.Crashes), slices.Clone(sc.Failovers), slices.Clone(sc.APIFaults)
	w := &world{sc: sc, rng: rand.New(rand.NewPCG(sc.Seed, 0x72756e)), trace: o.Trace, settle: o.SettleWindow, readySince: map[*machine]int{}, manualAt: -1, lastMin: -1,
		anchorCrash: -1, anchorOutage: -1, recreated: make([]bool, len(sc.Recreates))}
	gated := o.Gate
	if !o.NoDrain {
		w.drainPeriod = DefaultDrainPeriod
	}
	w.lb = &octavia{w: w, hbPhase: sc.HeartbeatPhase, addrSeen: map[string]bool{}}
	w.res = Result{Seed: sc.Seed, Kind: sc.Kind, Gated: gated, Replicas: sc.Replicas, MaxSurge: sc.MaxSurge, CAPO: sc.CAPO,
		Need: max(sc.Replicas-1, 1), MinServing: sc.Replicas, ViolationAt: -1}
	if gated {
		w.ctl = newController(w)
	}
	w.seed()
	return w
}

// seed builds the cluster as it runs before the rollout: every Machine old
// and serving, with the gate's hooks and a status written long ago.
func (w *world) seed() {
	for k := 0; k < w.sc.Replicas; k++ {
		// Everything happened before the run: at time 0 at the latest
		// (negative times are "not yet" in this model).
		m := newMachine(w, k-w.sc.Replicas, k, true)
		m.serverUp, m.ready, m.node, m.joinAt, m.apiUp, m.firstConfig = 0, 0, 0, 0, 0, 0
		for p := range m.members {
			w.lb.nextID++
			mb := &member{id: fmt.Sprintf("mem-%03d", w.lb.nextID), pool: p, m: m, plan: m.plan.Members[p], prov: memberwait.StatusActive,
				op: w.lb.healthy(), delAt: -1, failDue: -1, configured: true, up: true, nextCheck: 1 + m.plan.Members[p].Check}
			mb.addr = spell(w.sc, m.ip, w.lb.nextID)
			w.lb.addrSeen[m.ip] = true
			m.members[p] = mb
			w.lb.members = append(w.lb.members, mb)
		}
		w.machines = append(w.machines, m)
		if w.ctl != nil {
			m.hook = true
			r := cycle.Row{Name: m.name, MemberReadiness: gate.MemberReadiness{MemberReady: true, Reason: gate.ReasonServing}}
			for p, mb := range m.members {
				r.Members = append(r.Members, cycle.Member{Progress: memberwait.Progress{MemberID: mb.id, PoolID: poolID(p),
					ProvisioningStatus: mb.prov, OperatingStatus: mb.op, Since: at(-1800)}})
			}
			if m.release != "" {
				// The annotation was there when the status was written,
				// long before any deletion.
				r.Release = &cycle.Sighting{Value: m.release, SeenAt: at(-1800), BeforeDeletion: true}
			}
			w.ctl.mem.Rows[m.name] = r
		}
	}
	w.nextPlan = w.sc.Replicas
	w.tracef(0, "sim", "seed %d: %s, %d replicas, maxSurge %d, %s rollout at %d, CAPO %s, %d pool(s), gate %v",
		w.sc.Seed, w.sc.Kind, w.sc.Replicas, w.sc.MaxSurge, w.sc.Trigger, w.sc.RolloutAt, w.sc.CAPO, w.sc.Pools, w.ctl != nil)
}

// Run plays a scenario and reports what happened.
func Run(sc Scenario, o Options) Result {
	w := newWorld(sc, o)
	done := -1
	for t := 0; t <= Horizon; t++ {
		w.step(t)
		if done < 0 && w.rolledOut(t) {
			done = t
			w.res.RolledOut, w.res.RolloutSeconds = true, t-sc.RolloutAt
			w.tracef(t, "sim", "rollout complete")
		}
		if done >= 0 && t >= done+tail {
			w.res.End = t
			return w.finish(t)
		}
	}
	w.res.End = Horizon
	return w.finish(Horizon)
}

func (w *world) step(t int) {
	w.now = t
	if t == 0 {
		w.event(t, AnchorStart)
	}
	w.killKubelet(t)
	w.stepMemberErrors(t)
	w.person(t)
	w.lb.step(t)
	for _, m := range w.machines {
		if !m.gone {
			w.stepCAPO(t, m)
			w.stepDeletion(t, m)
		}
	}
	w.stepKCP(t)
	w.check(t)
	w.exposure(t)
	if w.ctl != nil {
		w.ctl.step(t)
	}
}

// person plays the operator: the scripted manual release of long holds,
// deleting ERROR members, re-creating members.
func (w *world) person(t int) {
	w.personFixesError(t)
	w.recreate(t)
	if w.ctl == nil || w.sc.ManualAfter <= 0 {
		return
	}
	for _, m := range w.machines {
		if m.isDeleting() && m.hook && !m.byPerson && t-m.deleting >= w.sc.ManualAfter {
			// A value of its own: one already on the Machine (a
			// template's) was there before the deletion.
			m.release, m.byPerson = "alice: member stuck, accepted the risk", true
			w.tracef(t, "person", "annotated %s for manual release", m.name)
			w.changed(t)
		}
	}
}

// recreate plays the scenario's Recreates: the member in the first pool
// deleted, its Machine's API server unreachable through the load balancer
// from then on, the member created again at the same address.
func (w *world) recreate(t int) {
	for i, p := range w.sc.Recreates {
		if w.recreated[i] {
			continue
		}
		var m *machine
		for _, o := range w.machines {
			if o.k == p.Machine {
				m = o
			}
		}
		if m == nil || m.gone || m.isDeleting() || m.node < 0 || t < m.node+p.After {
			continue
		}
		mb := m.members[0]
		if mb == nil || mb.removed || mb.prov != memberwait.StatusActive || !w.lb.remove(t, mb) {
			continue // not there yet, or Octavia refused: try again
		}
		w.recreated[i] = true
		m.cutFrom, m.cutTo, m.healed = t, t+p.Cut, false
		m.memberDue = mb.delAt
		who := "person"
		if p.ByCAPO {
			m.memberDue, who = max(mb.delAt, t+p.CAPODelay), "capo"
		}
		w.tracef(t, who, "deleted member %s of %s to create it again at %d; its API server unreachable through the LB until %d",
			mb.id, m.name, m.memberDue, m.cutTo)
		if p.Blind > 0 {
			w.sc.APIFaults = append(w.sc.APIFaults, APIFault{Window: Window{From: t, To: t + p.Blind}, Code: 503, GateOnly: true})
			w.tracef(t, "fault", "the gate's Octavia requests fail until %d", t+p.Blind)
		}
	}
}

// changed is a watch event on a Machine: the controller reconciles soon.
func (w *world) changed(t int) {
	if w.ctl != nil && w.ctl.downTo < 0 {
		w.ctl.kick(t + 1)
	}
}

// byName lists the Machines the controller sees, as its List sorts them.
func (w *world) byName() []*machine {
	out := w.live()
	slices.SortFunc(out, func(a, b *machine) int { return strings.Compare(a.name, b.name) })
	return out
}

// byNameOne finds a live Machine by name (nil when there is none): a
// Machine may have taken a gone one's name.
func (w *world) byNameOne(name string) *machine {
	for _, m := range w.machines {
		if m.name == name && !m.gone {
			return m
		}
	}
	return nil
}

// machineName makes KCP-like names; the order they sort in is the order the
// controller patches Machines, so it should not follow creation.
func (w *world) machineName() string {
	r := rand.New(rand.NewPCG(w.sc.Seed, uint64(len(w.machines))+1))
	const letters = "bcdfghjklmnpqrstvwxz2456789"
	b := []byte("cp-")
	for range 5 {
		b = append(b, letters[r.IntN(len(letters))])
	}
	return string(b)
}

func (w *world) tracef(t int, who, format string, args ...any) {
	if w.trace == nil {
		return
	}
	fmt.Fprintf(w.trace, "t=%5d %s  %-7s %s\n", t, (time.Duration(t) * time.Second).String(), who, fmt.Sprintf(format, args...))
}
