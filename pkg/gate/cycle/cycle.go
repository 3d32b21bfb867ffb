// Package cycle is one decision of the gate: observe the API server load
// balancer or reuse a remembered observation, judge every member, decide,
// look again before letting any hook go, and say when to look next. The
// controller and the simulation both run it, so the simulation plays the
// controller's own sequence, not a copy of it. What the decision is carried
// out with — patches, events, the status write — stays the caller's: the
// simulation crashes between those steps.
package cycle

import (
	"context"
	"time"

	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/memberwait"
)

// Observer reads the load balancer's status tree, or returns the observation
// it remembers.
type Observer interface {
	// ObserveOrReuse returns the remembered observation while no poll is
	// due and the Machines are as they were; otherwise it reads Octavia.
	// fresh says which.
	ObserveOrReuse(ctx context.Context, now time.Time) (snap *memberwait.Snapshot, at time.Time, fresh bool, err error)
	// ObserveFresh reads Octavia.
	ObserveFresh(ctx context.Context) (snap *memberwait.Snapshot, at time.Time, err error)
	// Due records that the verdicts on the observation made at ask to look
	// again after (in (0, gate.Resync]); an observation made at another
	// time than the one remembered is none of its business.
	Due(at time.Time, after time.Duration)
}

// Machine is a control-plane Machine as the world has it (name, deletion,
// Node, hook, manual-release annotation) and how to find its member in a
// pool. Its hold, sighting and last verdict come from the Memory.
type Machine struct {
	gate.Machine
	Find func(memberwait.PoolStatus) (memberwait.MemberStatus, bool)
}

// Cycle is what one decision starts from.
type Cycle struct {
	// Input is the cluster: Now, Policy, Paused, Deleting, and the load
	// balancer's ID or NotCreated. Run fills in the rest.
	Input    gate.Input
	Machines []Machine
	Options  memberwait.Options
	Memory   Memory
	Observer Observer
	// Clock dates a cycle that observes nothing.
	Clock func() time.Time
	// IdleResync is when to look again at a cluster the decision leaves
	// gate.Idle (gate.IdleAfter of the cluster); 0 means gate.Resync, as
	// for any other.
	IdleResync time.Duration
}

// Outcome is one decision and what it was made on.
type Outcome struct {
	// Input is the gate's input as judged.
	Input    gate.Input
	Decision gate.Decision
	// Verdicts are each Machine's member verdicts, by Machine and pool.
	Verdicts map[string]map[string]memberwait.Verdict
	Snapshot *memberwait.Snapshot
	// ObservedAt is when Octavia answered, or when the cycle ran if it was
	// not asked.
	ObservedAt time.Time
	// ServerRetryAfter is what Octavia's Retry-After asked for when it
	// refused the observation (429, 503): the next cycle is no sooner.
	ServerRetryAfter time.Duration
	// IdleResync is set when the decision left the cluster gate.Idle: the
	// next cycle is then this long after the observation.
	IdleResync time.Duration
}

// Run makes one decision.
func Run(ctx context.Context, c Cycle) Outcome {
	in := c.Input
	in.ReportedOrphans = c.Memory.ReportedOrphans
	var snap *memberwait.Snapshot
	var at time.Time
	fresh := false
	switch {
	case in.LoadBalancer.NotCreated:
	case !in.Paused && !in.Deleting && in.Policy.Mode != gate.Disabled:
		snap, at, fresh, in.LoadBalancer.Err = c.Observer.ObserveOrReuse(ctx, in.Now)
		in.LoadBalancer.UnavailableSince = c.Memory.UnavailableSince
	}
	// The settle window counts from when Octavia answered, not from when
	// the cycle began: reading the cluster first can take a while, and an
	// earlier stamp would date an ONLINE seen now back to before it was.
	if at.IsZero() {
		at = c.Clock()
	}
	o := c.decide(in, snap, at)
	if len(o.Decision.Release) > 0 && !fresh && snap != nil {
		// A hook is let go only on what Octavia says now, never on a
		// remembered observation.
		snap, at, in.LoadBalancer.Err = c.Observer.ObserveFresh(ctx)
		o = c.decide(in, snap, at)
	}
	after := o.Decision.RequeueAfter
	if after <= 0 || after > gate.Resync {
		// Nothing pending: the periodic resync is the next poll.
		after = gate.Resync
	}
	if c.IdleResync > 0 && gate.Idle(o.Input, o.Decision) {
		// Events between now and then reuse this observation.
		after, o.IdleResync = c.IdleResync, c.IdleResync
	}
	// An Octavia that asked to be left alone for a while is: sooner
	// would only be refused again, and spend the budget of every cluster
	// on the cloud.
	if o.ServerRetryAfter = memberwait.ServerRetryAfter(in.LoadBalancer.Err); o.ServerRetryAfter > after {
		after = o.ServerRetryAfter
	}
	c.Observer.Due(at, after)
	return o
}

// decide judges one observation and decides on it; in is the cluster's
// input, not yet judged.
func (c Cycle) decide(in gate.Input, snap *memberwait.Snapshot, at time.Time) Outcome {
	candidates := make([]gate.Candidate, 0, len(c.Machines))
	for _, m := range c.Machines {
		row := c.Memory.Rows[m.Name]
		gm := m.Machine
		if !row.HeldSince.IsZero() {
			gm.HeldSince, gm.Alerted = row.HeldSince, row.Alerted
		}
		if gm.ManualRelease != "" && row.Release != nil && row.Release.Value == gm.ManualRelease {
			// Another value is a new sighting.
			gm.ManualReleaseSeen, gm.ManualReleaseEarly = row.Release.SeenAt, row.Release.BeforeDeletion
		}
		gm.Last = row.last()
		candidates = append(candidates, gate.Candidate{Machine: gm, Find: m.Find, Progress: row.progress})
	}
	obs := memberwait.Observation{Snapshot: snap, Err: in.LoadBalancer.Err, At: at}
	verdicts := gate.Judge(&in, snap, obs, c.Options, candidates)
	return Outcome{Input: in, Decision: gate.Decide(in), Verdicts: verdicts, Snapshot: snap, ObservedAt: at}
}

// RequeueAfter is when to run the next cycle, counted from now: what the
// decision asked for, less the age of the observation it was made on (a
// remembered one may be old), at least a tenth of a second and at most
// gate.Resync, or the idle resync for an idle cluster. Zero, for a paused
// cluster, means only when something changes.
func (o Outcome) RequeueAfter(now time.Time) time.Duration {
	if o.Input.Paused {
		return 0
	}
	if o.IdleResync > 0 {
		return max(o.IdleResync-now.Sub(o.ObservedAt), time.Second/10)
	}
	after := o.Decision.RequeueAfter
	if after > 0 {
		after -= now.Sub(o.ObservedAt)
		if after < time.Second/10 {
			after = time.Second / 10
		}
	}
	if after <= 0 || after > gate.Resync {
		after = gate.Resync
	}
	if o.ServerRetryAfter > after {
		after = o.ServerRetryAfter
	}
	return after
}
