package sim

import (
	"context"
	"math"
	"strings"
	"time"

	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/gate/cycle"
	"github.com/membergate/membergate/pkg/memberwait"
)

// alertAfter is the MemberGate default v1alpha1.DefaultAlertAfter.
const alertAfter = 15 * time.Minute

// epoch anchors virtual seconds to the wall-clock times gate and memberwait
// work with.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(t int) time.Time { return epoch.Add(time.Duration(t) * time.Second) }

// controller is the gate's controller: a model of controllers.GateReconciler
// around the real decision cycle (cycle.Run, and in it gate.Judge,
// memberwait.Evaluate and gate.Decide).
type controller struct {
	w *world
	// mem is the MemberGate status: the Machines' rows, the orphans
	// reported, and since when Octavia could not be read (the Ready
	// condition's transition; zero while it can). All that survives a crash
	// or a leader change.
	mem cycle.Memory
	// In memory only: lost on a crash.
	next   int // next reconcile, -1 when none is queued
	downTo int // down until then (-1: up)
	opts   memberwait.Options
	// Counters for the report.
	alerts     map[*machine]bool // Machines a HeldTooLong event was recorded for
	ignored    int               // ManualReleaseIgnored events
	orphaned   int               // OrphanMember events
	reconciles int
	reads      int // Octavia status-tree requests
	// cache is the remembered observation (controllers' snapshotCache).
	cache cached
	dr    drainState
	// rem is member remediation's record in the MemberGate status.
	rem remediationMemory
}

func newController(w *world) *controller {
	c := &controller{w: w, mem: cycle.Memory{Rows: map[string]cycle.Row{}, ReportedOrphans: map[string]string{}}, next: 0, downTo: -1, alerts: map[*machine]bool{}}
	// waitOptions(mg) for a defaulted MemberGate: Serving, the settle
	// window from the pool's monitor (Auto) unless the run fixes it, noMonitorPolicy Provisioned (ACTIVE/NO_MONITOR serves
	// after the settle window), and no grace for missing members (a missing
	// member is the gate's business, not a failure).
	c.opts = memberwait.Options{Target: memberwait.Serving, NoMonitor: memberwait.NoMonitorServing, NotFoundGrace: 365 * 24 * time.Hour,
		SettleWindow: w.settle, Rand: w.rng.Float64}
	return c
}

// kick queues a reconcile, as a watch event on a Machine does.
func (c *controller) kick(t int) {
	if c.next < 0 || t < c.next {
		c.next = t
	}
}

// step runs the controller for one second: crashes, restarts, and the
// reconcile when one is due.
func (c *controller) step(t int) {
	cut := -1.0
	for _, cr := range c.w.sc.Crashes {
		if cr.At != t || c.downTo >= 0 {
			continue
		}
		if cr.MidReconcile && c.next >= 0 && c.next <= t {
			cut = cr.Cut
		}
		if cut >= 0 {
			c.reconcile(t, cut)
		}
		what := "crashed"
		if cr.Leader {
			what = "lost the lease"
		}
		c.w.tracef(t, "gate", "controller %s, down until %d (mid-reconcile: %v)", what, t+cr.Down, cut >= 0)
		c.downTo, c.next = t+cr.Down, -1
		c.w.res.Crashes++
	}
	if c.downTo >= 0 {
		if t < c.downTo {
			return
		}
		// A new process or leader: informers sync, every Cluster is
		// reconciled once.
		c.downTo, c.next = -1, t
		c.w.tracef(t, "gate", "controller up again")
	}
	if c.next >= 0 && t >= c.next {
		c.reconcile(t, -1)
	}
}

// reconcile is GateReconciler.Reconcile: the gate's own cycle.Run on the
// model's Machines, Octavia and status, then apply. cut >= 0 crashes after
// that fraction of the Machine patches, before the status patch.
func (c *controller) reconcile(t int, cut float64) {
	c.reconciles++
	machines := c.w.byName()
	in := gate.Input{Now: at(t), Policy: gate.Policy{Mode: gate.Enforce, AlertAfter: alertAfter}}
	in.LoadBalancer.ID = "lb-api"
	candidates := make([]cycle.Machine, 0, len(machines))
	for _, m := range machines {
		candidates = append(candidates, cycle.Machine{
			Machine: gate.Machine{Name: m.name, Deleting: m.isDeleting(), HasNode: m.hasNode(t), HasHook: m.hook, ManualRelease: m.release},
			Find:    func(p memberwait.PoolStatus) (memberwait.MemberStatus, bool) { return memberOf(m, t, p) }})
	}
	out := cycle.Run(context.Background(), cycle.Cycle{Input: in, Machines: candidates, Options: c.opts, Memory: c.mem,
		Observer: &observer{c: c, t: t, machines: machines}, Clock: func() time.Time { return at(t) }})
	c.drainStep(t, machines, &out)
	c.apply(t, machines, out, cut)
	if cut >= 0 {
		return
	}
	c.dr.drains = c.dr.next
	// Whole seconds here: the controller's floor of 0.1 s is a second.
	c.next = -1
	after := out.RequeueAfter(at(t))
	// As GateReconciler.Reconcile: remediation's requeue when sooner.
	if d := c.remediate(t, machines, out); d > 0 && d < after {
		after = d
	}
	if after > 0 {
		c.next = t + int(math.Ceil(after.Seconds()))
	}
}

// observer is the cycle's Observer on the model: the emulated Octavia
// through the remembered observation, which is kept while no poll is due
// and the Machines are as they were (by name, deletion and addresses).
type observer struct {
	c        *controller
	t        int
	machines []*machine
}

func (o *observer) ObserveOrReuse(_ context.Context, _ time.Time) (*memberwait.Snapshot, time.Time, bool, error) {
	c := o.c
	if c.cache.snap != nil && o.t < c.cache.due && c.cache.fingerprint == fingerprint(o.machines, o.t) {
		return c.cache.snap, at(c.cache.at), false, nil
	}
	snap, obsAt, err := o.ObserveFresh(context.Background())
	return snap, obsAt, true, err
}

// ObserveFresh reads Octavia and remembers a good answer; a failed read
// forgets the last one.
func (o *observer) ObserveFresh(context.Context) (*memberwait.Snapshot, time.Time, error) {
	c, t := o.c, o.t
	c.reads++
	if err := c.w.lb.apiError(t, true); err != nil {
		c.cache = cached{}
		return nil, at(t), err
	}
	snap := c.w.lb.snapshot(t)
	c.cache = cached{snap: snap, at: t, due: t, fingerprint: fingerprint(o.machines, t)}
	return snap, at(t), nil
}

func (o *observer) Due(obsAt time.Time, after time.Duration) {
	c := o.c
	if c.cache.snap == nil || !at(c.cache.at).Equal(obsAt) {
		return
	}
	c.cache.due = c.cache.at + int(math.Ceil(after.Seconds()))
}

// cached is the remembered observation, in memory only.
type cached struct {
	snap        *memberwait.Snapshot
	at, due     int
	fingerprint string
}

// fingerprint is controllers.fingerprint on the model: the Machines' names,
// whether they are deleting, their addresses (known once the server is up).
func fingerprint(machines []*machine, t int) string {
	var b strings.Builder
	for _, m := range machines {
		b.WriteString(m.name)
		if m.isDeleting() {
			b.WriteString("|deleting")
		}
		if m.hasAddress(t) {
			b.WriteString("|" + m.ip)
		}
		b.WriteString(";")
	}
	return b.String()
}

// memberOf is controllers.memberOf on the model: the first member of the
// pool at one of the Machine's addresses (none before CAPO copies the
// server's), in whatever spelling Octavia keeps it.
func memberOf(m *machine, t int, pool memberwait.PoolStatus) (memberwait.MemberStatus, bool) {
	if !m.hasAddress(t) {
		return memberwait.MemberStatus{}, false
	}
	for _, ms := range pool.Members {
		if memberwait.SameAddress(m.ip, ms.Address) {
			return ms, true
		}
	}
	return memberwait.MemberStatus{}, false
}
