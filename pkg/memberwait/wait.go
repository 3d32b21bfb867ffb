package memberwait

import (
	"cmp"
	"context"
	"time"
)

// Wait blocks until one member of load balancer lbID reaches opts.Target, it
// fails, opts.Timeout passes or ctx ends. See [Poller.Wait]; to share polls
// among concurrent waits, use one [Poller].
func Wait(ctx context.Context, src Source, lbID string, m Selector, opts Options) (Result, error) {
	rs, err := WaitAll(ctx, src, lbID, []Selector{m}, opts)
	if len(rs) == 0 {
		return Result{Selector: m}, err
	}
	return rs[0], err
}

// WaitAll is [Wait] for several members of one load balancer, observed
// together: one request per poll.
func WaitAll(ctx context.Context, src Source, lbID string, members []Selector, opts Options) ([]Result, error) {
	return NewPoller(src, opts.Clock).Wait(ctx, lbID, members, opts)
}

// Check observes load balancer lbID once and judges each member: the
// non-blocking shape for controllers, which requeue after the shortest
// Verdict.RetryAfter instead of waiting. progress[i] is what member i's
// previous verdict returned (missing entries start afresh); persist each
// Verdict.Progress for the next call. An error from Octavia is judged like
// any observation: pending when retryable, failed otherwise.
func Check(ctx context.Context, src Source, lbID string, members []Selector, opts Options, progress []Progress) []Verdict {
	opts = opts.withDefaults()
	src = WithClock(src, opts.Clock)
	req := Request{LoadBalancerID: lbID}
	all := false
	for i, m := range members {
		var prev Progress
		if i < len(progress) {
			prev = progress[i]
		}
		pool := cmp.Or(m.PoolID, prev.PoolID)
		if pool == "" {
			all = true
		}
		req.PoolIDs = append(req.PoolIDs, pool)
	}
	// A member that is otherwise done needs the load balancer's status;
	// asking every time costs a pool-list source one request, which a
	// one-shot check cannot save by asking again later.
	req.LoadBalancerStatus = true
	req.HealthMonitors = opts.WantsHealthMonitors()
	if all {
		req.PoolIDs = nil
	}
	snap, err := src.Observe(ctx, req)
	obs := Observation{Snapshot: snap, Err: err, At: opts.Clock.Now()}
	verdicts := make([]Verdict, len(members))
	for i, m := range members {
		var prev Progress
		if i < len(progress) {
			prev = progress[i]
		}
		verdicts[i] = Evaluate(obs, m, opts, prev)
	}
	return verdicts
}

// RetryAfter returns the shortest delay among pending verdicts, the moment a
// controller should look again; ok is false when none is pending.
func RetryAfter(verdicts []Verdict) (d time.Duration, ok bool) {
	for _, v := range verdicts {
		if v.Outcome == Pending && (!ok || v.RetryAfter < d) {
			d, ok = v.RetryAfter, true
		}
	}
	return d, ok
}
