package bench

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/membergate/membergate/pkg/memberwait"
)

const (
	keyMemberwait       = "memberwait"
	keyMemberwaitShared = "memberwait-shared"
)

// memberwaitTimeout bounds memberwait's waits in the harness, as
// Terraform's default does its own. With its defaults memberwait has no
// timeout: a caller's context bounds it.
const memberwaitTimeout = 10 * time.Minute

const memberwaitSource = "this repository: pkg/memberwait (docs/memberwait.md)"

func memberwaitEach() Strategy {
	return Strategy{
		Key: keyMemberwait, Name: "memberwait (one Wait per waiter)",
		Looks: "GET load balancer status tree",
		Schedule: "first poll after 50 ms, then from 1 s growing ≈×1.5 a poll while nothing changes, −0–20 % jitter, capped at 10 s; " +
			"2 s gaps for 20 s after the member turns ACTIVE; back to 1 s on any status change",
		Errors: "409, 429, 5xx and transport errors retried (Retry-After honoured); 404 after a 10 s grace",
		Judges: "member ACTIVE and ONLINE held for the settle window (Auto: from the pool's monitor, 50 s for CAPO's), load balancer not PENDING_*; member ERROR fails at once (Gone: 404/DELETED)",
		Source: memberwaitSource,
		New:    func(c *Cloud) Runner { return &memberwaitRunner{c: c} },
	}
}

func memberwaitShared() Strategy {
	s := memberwaitEach()
	s.Key, s.Name = keyMemberwaitShared, "memberwait (shared Poller)"
	s.Looks = "GET load balancer status tree, one poll per load balancer for all its waiters"
	s.Shared = true
	s.New = func(c *Cloud) Runner {
		return &memberwaitRunner{c: c, poller: memberwait.NewPoller(memberwait.StatusTree(c.Client), c.Clock)}
	}
	return s
}

// memberwaitRunner waits with memberwait's defaults, through one Wait per
// waiter or, with a poller, through one Poller for all.
type memberwaitRunner struct {
	c        *Cloud
	poller   *memberwait.Poller
	returned atomic.Int64 // waits that have ended
}

// Ready holds virtual time until every waiter has registered with the
// shared Poller (or already returned), so that all of them take part in its
// first poll.
func (r *memberwaitRunner) Ready(ws []Waiter) bool {
	if r.poller == nil {
		return true
	}
	seen := map[string]bool{}
	n := int(r.returned.Load())
	for _, w := range ws {
		if !seen[w.LB] {
			seen[w.LB] = true
			n += r.poller.Waiting(w.LB)
		}
	}
	return n >= len(ws)
}

// Stats returns the shared Poller's counters (zero without one).
func (r *memberwaitRunner) Stats() memberwait.PollerStats {
	if r.poller == nil {
		return memberwait.PollerStats{}
	}
	return r.poller.Stats()
}

func (r *memberwaitRunner) Wait(ctx context.Context, w Waiter) Outcome {
	defer r.returned.Add(1)
	sawActive := time.Duration(-1)
	polls := 0
	opts := memberwait.Options{
		Target:  memberwait.Serving,
		Clock:   r.c.Clock,
		Rand:    w.Rand.Float64,
		Timeout: memberwaitTimeout,
		OnUpdate: func(u memberwait.Update) {
			polls++
			m := u.Verdict.Member
			if sawActive < 0 && m != nil && m.ProvisioningStatus == memberwait.StatusActive {
				sawActive = u.Verdict.At.Sub(epoch)
			}
		},
	}
	if w.Gone {
		opts.Target = memberwait.Gone
	}
	member := memberwait.Selector{PoolID: w.Pool, ID: w.Member}
	var res memberwait.Result
	var err error
	if r.poller != nil {
		var rs []memberwait.Result
		rs, err = r.poller.Wait(ctx, w.LB, []memberwait.Selector{member}, opts)
		if len(rs) > 0 {
			res = rs[0]
		}
	} else {
		res, err = memberwait.Wait(ctx, memberwait.StatusTree(r.c.Client), w.LB, member, opts)
	}
	// Verdict.At is when the deciding poll completed; a follower of a
	// shared poll may only read it later in virtual time.
	out := Outcome{OK: err == nil, Err: err, At: res.Verdict.At.Sub(epoch), SawActive: sawActive, Polls: polls}
	var te *memberwait.TimeoutError
	if errors.As(err, &te) {
		// Every waiter registers at the start, so the wait ended Waited in.
		out.At, out.Timeout = te.Waited, true
	}
	return out
}
