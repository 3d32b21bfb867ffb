package harness

import (
	"context"
	"sync"
	"time"
)

// Recorder samples a cluster at a steady tick and keeps what a rollout's
// verdict needs: the fewest serving members seen (and the snapshot where it
// happened), and when each Machine was first seen, became Ready, began
// deleting, lost the gate's hook and was gone.
type Recorder struct {
	c        *Cluster
	required int
	every    time.Duration
	onSample func(Snapshot)

	stop chan struct{}
	done chan struct{}

	mu         sync.Mutex
	started    time.Time
	samples    int
	errors     int
	minServing int
	minAt      Snapshot
	below      int // samples with fewer serving members than required
	firstBelow *Snapshot
	last       Snapshot
	machines   map[string]*Timeline
	order      []string
}

// Timeline is one Machine's life as the recorder saw it; zero times were
// not seen.
type Timeline struct {
	Name string
	// Old is true for Machines that existed when recording started.
	Old                                bool
	FirstSeen, Ready                   time.Time
	DeletionSeen, HookReleased, GoneAt time.Time
	// MemberServing is the first sample that saw the member serving;
	// NotServingYet the last sample before it that did not: the member
	// started serving between the two.
	MemberServing, NotServingYet time.Time
	// Hooked is true if the Machine was ever seen with the gate's hook
	// while deleting, i.e. the gate held it.
	Hooked bool
	// Exposed adds up, from the hook's release on (the Machine is then on
	// its way out: drain, etcd member removed, VM deleted), the time
	// between samples that saw its member still in rotation: present,
	// not failed by its monitor, and with a weight that is not 0 (or a
	// weight change not applied yet). It bounds from above the time the
	// load balancer would send new connections to an API server that is
	// stopping or gone.
	Exposed time.Duration
	member  string
}

// Record starts sampling every tick until Stop. required is the number of
// serving members that must never be missing; onSample, if set, sees every
// snapshot (on the recorder's goroutine).
func (c *Cluster) Record(ctx context.Context, required int, every time.Duration, onSample func(Snapshot)) *Recorder {
	r := &Recorder{c: c, required: required, every: every, onSample: onSample, stop: make(chan struct{}), done: make(chan struct{}),
		minServing: -1, machines: map[string]*Timeline{}, started: time.Now()}
	first, err := c.Snapshot(ctx)
	if err == nil {
		for _, m := range first.Machines {
			r.machines[m.Name] = &Timeline{Name: m.Name, Old: true, FirstSeen: first.At}
			r.order = append(r.order, m.Name)
		}
		r.observe(first)
	}
	go r.run(ctx)
	return r
}

func (r *Recorder) run(ctx context.Context) {
	defer close(r.done)
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.stop:
			return
		case <-t.C:
		}
		s, err := r.c.Snapshot(ctx)
		if err != nil {
			r.mu.Lock()
			r.errors++
			r.mu.Unlock()
			continue
		}
		r.observe(s)
		if r.onSample != nil {
			r.onSample(s)
		}
	}
}

func (r *Recorder) observe(s Snapshot) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples++
	prev := r.last
	r.last = s
	if r.minServing < 0 || s.Serving < r.minServing {
		r.minServing, r.minAt = s.Serving, s
	}
	if s.Serving < r.required {
		r.below++
		if r.firstBelow == nil {
			cp := s
			r.firstBelow = &cp
		}
	}
	seen := map[string]bool{}
	for _, m := range s.Machines {
		seen[m.Name] = true
		tl := r.machines[m.Name]
		if tl == nil {
			tl = &Timeline{Name: m.Name, FirstSeen: s.At}
			r.machines[m.Name] = tl
			r.order = append(r.order, m.Name)
		}
		if m.Ready && tl.Ready.IsZero() && !m.Deleting {
			tl.Ready = s.At
		}
		if tl.MemberServing.IsZero() {
			if m.Member.Serving() {
				tl.MemberServing = s.At
			} else {
				tl.NotServingYet = s.At
			}
		}
		if m.Deleting {
			if tl.DeletionSeen.IsZero() {
				tl.DeletionSeen = s.At
			}
			if m.Hooked {
				tl.Hooked = true
			} else if tl.HookReleased.IsZero() {
				tl.HookReleased = s.At
			}
		}
	}
	for name, tl := range r.machines {
		if !seen[name] && tl.GoneAt.IsZero() {
			tl.GoneAt = s.At
			if tl.HookReleased.IsZero() {
				tl.HookReleased = s.At
			}
		}
	}
	r.exposure(prev, s)
}

// exposure adds the time since the previous sample to every released
// Machine whose member this sample sees in rotation.
func (r *Recorder) exposure(prev, s Snapshot) {
	members := map[string]*MemberView{}
	for _, m := range s.Machines {
		if m.Member != nil {
			members[m.Member.Name] = m.Member
			r.machines[m.Name].member = m.Member.Name
		}
	}
	for i := range s.Orphans {
		members[s.Orphans[i].Name] = &s.Orphans[i]
	}
	for _, tl := range r.machines {
		if tl.HookReleased.IsZero() || prev.At.IsZero() || tl.member == "" {
			continue
		}
		if mb := members[tl.member]; mb.InRotation() {
			tl.Exposed += s.At.Sub(prev.At)
		}
	}
}

// Stop ends the sampling with one last sample, so that what the caller
// just waited for is in the recording, and returns what was recorded.
func (r *Recorder) Stop() Recording {
	select {
	case <-r.stop:
		<-r.done
		return r.Recording()
	default:
		close(r.stop)
	}
	<-r.done
	if s, err := r.c.Snapshot(context.Background()); err == nil {
		r.observe(s)
	}
	return r.Recording()
}

// Last is the latest snapshot.
func (r *Recorder) Last() Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// Recording is the recorder's result so far.
func (r *Recorder) Recording() Recording {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := Recording{Required: r.required, Samples: r.samples, Errors: r.errors, MinServing: r.minServing, MinAt: r.minAt,
		Below: r.below, Started: r.started}
	if r.firstBelow != nil {
		cp := *r.firstBelow
		rec.FirstBelow = &cp
	}
	for _, name := range r.order {
		rec.Machines = append(rec.Machines, *r.machines[name])
	}
	return rec
}

// Recording is what a Recorder saw.
type Recording struct {
	Required, Samples, Errors int
	// MinServing is the fewest serving members of live control-plane
	// Machines in any sample, MinAt that sample.
	MinServing int
	MinAt      Snapshot
	// Below counts samples with fewer than Required serving members;
	// FirstBelow is the first of them.
	Below      int
	FirstBelow *Snapshot
	Started    time.Time
	Machines   []Timeline
}

// Hold is what happened to one old Machine between KCP deleting it and its
// member going away.
type Hold struct {
	Machine string
	// Held is from the deletion seen (KCP deletes an old Machine once its
	// replacement passes KCP's checks) to the gate's hook released; about
	// zero when nothing held it.
	Held time.Duration
	// Replacement is the newest Machine created before the deletion, empty
	// when there was none (maxSurge=0 deletes first).
	Replacement string
	// AfterServing is from the replacement's member first seen serving to
	// the release: negative when the old Machine went while the new member
	// did not serve yet. AfterServingMax (from the last sample that saw the
	// member not serving yet) cannot be shorter than the true time from the
	// member's start of serving to the release: if it is shorter than the
	// settle window, the gate certainly let go early. Both are valid only
	// when ReplacementServed.
	AfterServing, AfterServingMax time.Duration
	ReplacementServed             bool
	// Exposed is the Machine's Timeline.Exposed.
	Exposed time.Duration
}

// Holds lists, for every old Machine that was deleted, how long it was held.
func (rec Recording) Holds() []Hold {
	var out []Hold
	for _, old := range rec.Machines {
		if !old.Old || old.DeletionSeen.IsZero() {
			continue
		}
		h := Hold{Machine: old.Name, Exposed: old.Exposed}
		if !old.HookReleased.IsZero() {
			h.Held = old.HookReleased.Sub(old.DeletionSeen)
		}
		var repl *Timeline
		for i, n := range rec.Machines {
			if !n.Old && !n.FirstSeen.After(old.DeletionSeen) && (repl == nil || n.FirstSeen.After(repl.FirstSeen)) {
				repl = &rec.Machines[i]
			}
		}
		if repl != nil {
			h.Replacement = repl.Name
			if !repl.MemberServing.IsZero() && !old.HookReleased.IsZero() {
				h.ReplacementServed = true
				h.AfterServing = old.HookReleased.Sub(repl.MemberServing)
				h.AfterServingMax = old.HookReleased.Sub(repl.NotServingYet)
			}
		}
		out = append(out, h)
	}
	return out
}
