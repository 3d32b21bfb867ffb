package sim

import (
	"math"
	"strings"
	"time"

	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/memberwait"
)

// Controller constants: gate.Resync in seconds, as the controller requeues,
// and the MemberGate default v1alpha1.DefaultAlertAfter.
const (
	resync     = int(gate.Resync / time.Second)
	alertAfter = 15 * time.Minute
)

// epoch anchors virtual seconds to the wall-clock times gate and memberwait
// work with.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(t int) time.Time { return epoch.Add(time.Duration(t) * time.Second) }

// row is what the controller persists per Machine in the MemberGate status
// (status.machines[]): the hold; per pool, the member's progress as
// controllers.progressFrom reads it back (see memberRow); the verdict the
// last good observation left (lastVerdictFrom); the manual-release
// annotation's sighting (releaseSightingFrom). With the controller's
// unavailable-since and reported orphans it is all that survives a crash or
// a leader change.
type row struct {
	heldSince time.Time
	alerted   bool
	members   map[string]memberwait.Progress // by pool
	last      *gate.Verdict
	release   sighting
}

// sighting is when the gate first saw a value of the manual-release
// annotation, and whether the Machine was not deleting then.
type sighting struct {
	value string
	seen  time.Time
	early bool
}

// controller is the gate's controller: a model of controllers.GateReconciler
// whose judgement is the real memberwait.Evaluate and gate.Decide.
type controller struct {
	w      *world
	status map[string]row // the MemberGate status, by Machine name
	// Also in the status: the orphans reported (status.orphans, by member
	// ID, with their statuses), and since when Octavia could not be read
	// (the Ready condition's transition; zero while it can).
	orphans          map[string]string
	unavailableSince time.Time
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
}

func newController(w *world) *controller {
	c := &controller{w: w, status: map[string]row{}, orphans: map[string]string{}, next: 0, downTo: -1, alerts: map[*machine]bool{}}
	// waitOptions(mg) for a defaulted MemberGate: Serving, the default
	// settle window, noMonitorPolicy Provisioned (ACTIVE/NO_MONITOR serves
	// after the settle window), and no grace for missing members (a missing
	// member is the gate's business, not a failure).
	c.opts = memberwait.Options{Target: memberwait.Serving, NoMonitor: memberwait.NoMonitorServing, NotFoundGrace: 365 * 24 * time.Hour,
		Rand: w.rng.Float64}
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

// reconcile is GateReconciler.Reconcile: observe (or reuse the remembered
// observation), judge every member, decide — on a fresh observation before
// any release — and apply. cut >= 0 crashes after that fraction of the
// Machine patches, before the status patch.
func (c *controller) reconcile(t int, cut float64) {
	c.reconciles++
	machines := c.w.byName()
	base := gate.Input{Now: at(t), Policy: gate.Policy{Mode: gate.Enforce, AlertAfter: alertAfter}, ReportedOrphans: c.orphans}
	base.LoadBalancer.ID = "lb-api"
	base.LoadBalancer.UnavailableSince = c.unavailableSince
	in := base
	snap, obsAt, fresh, err := c.observeOrReuse(t, machines)
	in.LoadBalancer.Err = err
	verdicts := c.judge(t, machines, snap, memberwait.Observation{Snapshot: snap, Err: err, At: at(obsAt)}, &in)
	d := gate.Decide(in)
	if len(d.Release) > 0 && !fresh && snap != nil {
		// A hook is let go only on what Octavia says now.
		in = base
		snap, obsAt, err = c.observeFresh(t, machines)
		in.LoadBalancer.Err = err
		verdicts = c.judge(t, machines, snap, memberwait.Observation{Snapshot: snap, Err: err, At: at(obsAt)}, &in)
		d = gate.Decide(in)
	}
	c.rememberDue(obsAt, d.RequeueAfter)
	c.apply(t, machines, in, d, verdicts, obsAt, cut)
	if cut >= 0 {
		return
	}
	after := resync
	if d.RequeueAfter > 0 {
		// Relative to the observation, which may be a remembered one; the
		// controller's floor of 0.1 s is a second here.
		after = max(int(math.Ceil((d.RequeueAfter - time.Duration(t-obsAt)*time.Second).Seconds())), 1)
		if after > resync {
			after = resync
		}
	}
	c.next = t + after
}

// observeOrReuse mirrors controllers' snapshotCache: the remembered
// observation while no poll is due and the Machines are as they were (by
// name, deletion and addresses), else a fresh one. fresh says which.
func (c *controller) observeOrReuse(t int, machines []*machine) (snap *memberwait.Snapshot, obsAt int, fresh bool, err error) {
	if c.cache.snap != nil && t < c.cache.due && c.cache.fingerprint == fingerprint(machines, t) {
		return c.cache.snap, c.cache.at, false, nil
	}
	snap, obsAt, err = c.observeFresh(t, machines)
	return snap, obsAt, true, err
}

// observeFresh reads Octavia and remembers a good answer; a failed read
// forgets the last one.
func (c *controller) observeFresh(t int, machines []*machine) (*memberwait.Snapshot, int, error) {
	c.reads++
	if err := c.w.lb.apiError(t, true); err != nil {
		c.cache = cached{}
		return nil, t, err
	}
	snap := c.w.lb.snapshot(t)
	c.cache = cached{snap: snap, at: t, due: t, fingerprint: fingerprint(machines, t)}
	return snap, t, nil
}

// rememberDue records when the verdicts on the observation made at obsAt
// asked to look again.
func (c *controller) rememberDue(obsAt int, after time.Duration) {
	if c.cache.snap == nil || c.cache.at != obsAt {
		return
	}
	secs := int(math.Ceil(after.Seconds()))
	if secs <= 0 || secs > resync {
		secs = resync
	}
	c.cache.due = obsAt + secs
}

// cached is the remembered observation, in memory only.
type cached struct {
	snap        *memberwait.Snapshot
	at, due     int
	fingerprint string
}

// fingerprint mirrors controllers.fingerprint: the Machines' names,
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

// judge is GateReconciler.judge on the model: the same gate.Judge, with
// each Machine's member found by address and its progress, last verdict,
// hold and manual-release sighting read back from the status row.
func (c *controller) judge(t int, machines []*machine, snap *memberwait.Snapshot, obs memberwait.Observation, in *gate.Input) map[string]map[string]memberwait.Verdict {
	candidates := make([]gate.Candidate, 0, len(machines))
	for _, m := range machines {
		gm := gate.Machine{Name: m.name, Deleting: m.isDeleting(), HasNode: m.hasNode(t), HasHook: m.hook, ManualRelease: m.release}
		r := c.status[m.name]
		if !r.heldSince.IsZero() {
			// holdFrom: the hold state is read back only with its HeldSince.
			gm.HeldSince, gm.Alerted = r.heldSince, r.alerted
		}
		if m.release != "" && r.release.value == m.release {
			// releaseSightingFrom: a sighting of this value; another value
			// is a new sighting.
			gm.ManualReleaseSeen, gm.ManualReleaseEarly = r.release.seen, r.release.early
		}
		gm.Last = r.last
		candidates = append(candidates, gate.Candidate{Machine: gm,
			Find:     func(p memberwait.PoolStatus) (memberwait.MemberStatus, bool) { return memberOf(m, t, p) },
			Progress: func(pool string) memberwait.Progress { return r.members[pool] }})
	}
	return gate.Judge(in, snap, obs, c.opts, candidates)
}

// memberOf mirrors controllers.memberOf: the first member of the pool at
// one of the Machine's addresses (none before CAPO copies the server's),
// in whatever spelling Octavia keeps it.
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
