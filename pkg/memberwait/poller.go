package memberwait

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// JoinWindow is how long a new waiter's first poll waits, so that waiters
// started together share it instead of sending one request each.
const JoinWindow = 50 * time.Millisecond

// Poller shares polls among blocking waits: every wait on a load balancer is
// served by one observation per poll, whatever the number of members and
// waiters, and the poll comes when the most impatient of them wants it.
//
// A Poller starts no goroutines. One of the waiting goroutines of each load
// balancer polls for all of them; when its own wait ends, another takes over.
// A Poller is safe for concurrent use; its zero value is not usable.
type Poller struct {
	src   Source
	clock clock.Clock

	mu    sync.Mutex
	lbs   map[string]*lbPoll
	stats PollerStats
}

// PollerStats counts a Poller's work since it was made.
type PollerStats struct {
	// Polls is the number of observations, Requests the API requests they
	// took (more than Polls only for pool-list sources).
	Polls, Requests int
}

// NewPoller returns a Poller that observes through src and keeps time with
// clk (nil means the real clock). Options.Clock is ignored by its waits.
func NewPoller(src Source, clk clock.Clock) *Poller {
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Poller{src: WithClock(src, clk), clock: clk, lbs: map[string]*lbPoll{}}
}

// Stats returns the Poller's counters.
func (p *Poller) Stats() PollerStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Waiting returns the number of members being waited for on a load balancer.
func (p *Poller) Waiting(lbID string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	if lb := p.lbs[lbID]; lb != nil {
		for _, c := range lb.calls {
			for _, w := range c.waiters {
				if !w.done {
					n++
				}
			}
		}
	}
	return n
}

// Result is where one member's wait ended.
type Result struct {
	// Selector is the selector as given.
	Selector Selector
	// Verdict is the last verdict; Verdict.Member is the member as last
	// observed.
	Verdict Verdict
}

type lbPoll struct {
	id     string
	calls  []*call
	leader *call
	// kick is closed (and replaced) to make the leader look again at the
	// schedule, when a newcomer wants an earlier poll.
	kick chan struct{}
}

// call is one Wait: its members and its goroutine's mailboxes.
type call struct {
	lbID       string
	ctx        context.Context
	opts       Options
	waiters    []*waiter
	registered time.Time
	deadline   time.Time
	notify     chan struct{}
	promote    chan struct{}
	finished   bool
	err        error
}

type waiter struct {
	member   Selector
	progress Progress
	verdict  Verdict
	// unreported holds the verdicts not yet handed to OnUpdate, every one
	// of them: a follower's goroutine may run only after several polls,
	// and what it reports must not depend on when it got to run.
	unreported []Verdict
	due        time.Time
	needLB     bool
	done       bool
}

// Wait blocks until one observation shows every member at opts.Target on
// load balancer lbID (a member that got there and fell back is waited for
// again), one fails, opts.Timeout passes or ctx ends. The first failure ends the
// wait; its error is a [*MemberError], [*NotFoundError], [*NoMonitorError],
// [*LoadBalancerError], [*AmbiguousError], [*TimeoutError] or an error from
// Octavia that retrying cannot fix. The results say where each member got.
func (p *Poller) Wait(ctx context.Context, lbID string, members []Selector, opts Options) ([]Result, error) {
	opts = opts.withDefaults()
	if len(members) == 0 {
		return nil, errors.New("memberwait: no members to wait for")
	}
	now := p.clock.Now()
	c := &call{lbID: lbID, ctx: ctx, opts: opts, registered: now, notify: make(chan struct{}, 1), promote: make(chan struct{}, 1)}
	if opts.Timeout > 0 {
		c.deadline = now.Add(opts.Timeout)
	}
	for _, m := range members {
		c.waiters = append(c.waiters, &waiter{member: m, due: now.Add(JoinWindow)})
	}

	p.mu.Lock()
	lb := p.lbs[lbID]
	if lb == nil {
		lb = &lbPoll{id: lbID, kick: make(chan struct{})}
		p.lbs[lbID] = lb
	}
	lb.calls = append(lb.calls, c)
	lead := lb.leader == nil
	if lead {
		lb.leader = c
	} else {
		lb.kickLocked()
	}
	p.mu.Unlock()

	if lead {
		p.lead(lb, c)
	} else {
		p.follow(lb, c)
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	results := make([]Result, len(c.waiters))
	for i, w := range c.waiters {
		results[i] = Result{Selector: w.member, Verdict: w.verdict}
	}
	return results, c.err
}

// follow waits for the leader's verdicts, or to be made leader.
func (p *Poller) follow(lb *lbPoll, c *call) {
	for {
		select {
		case <-c.notify:
			p.report(lb.id, c)
			if p.leaveIfFinished(lb, c) {
				return
			}
		case <-c.promote:
			p.lead(lb, c)
			return
		case <-c.ctx.Done():
			p.mu.Lock()
			p.endLocked(c, p.clock.Now())
			p.mu.Unlock()
			p.report(lb.id, c)
			p.leaveIfFinished(lb, c)
			return
		}
	}
}

// lead polls for every call on the load balancer until c is finished, then
// hands over to another call.
func (p *Poller) lead(lb *lbPoll, c *call) {
	for {
		p.mu.Lock()
		now := p.clock.Now()
		p.expireLocked(lb, now)
		if c.finished {
			p.mu.Unlock()
			p.report(lb.id, c)
			p.leaveIfFinished(lb, c)
			return
		}
		due := lb.nextDueLocked()
		kick := lb.kick
		var req Request
		if !due.After(now) {
			req = lb.requestLocked()
		}
		p.mu.Unlock()

		if due.After(now) {
			t := p.clock.NewTimer(due.Sub(now))
			select {
			case <-t.C():
			case <-kick:
			case <-c.ctx.Done():
				p.mu.Lock()
				p.endLocked(c, p.clock.Now())
				p.mu.Unlock()
			}
			t.Stop()
			continue
		}

		sent := p.clock.Now()
		snap, err := p.src.Observe(c.ctx, req)
		at := p.clock.Now()
		p.mu.Lock()
		if c.ctx.Err() != nil {
			// The poll died with its leader's context; it says nothing
			// about the load balancer. The next leader polls again.
			p.endLocked(c, at)
		} else {
			p.stats.Polls++
			if snap != nil {
				p.stats.Requests += snap.Requests
			} else {
				p.stats.Requests++
			}
			p.applyLocked(lb, Observation{Snapshot: snap, Err: err, At: at}, sent)
		}
		p.mu.Unlock()
		p.report(lb.id, c)
	}
}

// applyLocked judges an observation for every waiter that was waiting when
// it was sent; a later waiter could see a state older than its own request.
//
// A call ends on the observation that shows every one of its members at the
// target, not when each has been there once: a member that served and then
// dropped while another was still settling is not serving. So a member that
// is done is judged again at every poll until its whole call is; it no
// longer sets the pace, but it is pending again if it falls back.
func (p *Poller) applyLocked(lb *lbPoll, obs Observation, sent time.Time) {
	for _, c := range lb.calls {
		if c.finished || c.registered.After(sent) {
			continue
		}
		for _, w := range c.waiters {
			// Every waiter takes every observation and reschedules from it:
			// the backoff depends on how long its member has been unchanged,
			// not on how many polls were made, so others' polls cost it
			// nothing and the next poll is the most impatient waiter's.
			v := Evaluate(obs, w.member, c.opts, w.progress)
			w.progress, w.verdict = v.Progress, v
			if c.opts.OnUpdate != nil {
				w.unreported = append(w.unreported, v)
			}
			switch v.Outcome {
			case Pending:
				w.done = false
				w.due, w.needLB = obs.At.Add(v.RetryAfter), v.NeedLoadBalancer
			case Failed:
				w.done = true
				if c.err == nil {
					c.err = v.Err
				}
				c.finished = true
			case Done:
				w.done, w.needLB = true, false
			}
		}
		if !c.finished {
			c.finished = allDone(c.waiters)
		}
		c.poke()
	}
}

// expireLocked ends the calls whose timeout has passed.
func (p *Poller) expireLocked(lb *lbPoll, now time.Time) {
	for _, c := range lb.calls {
		if !c.finished && !c.deadline.IsZero() && !now.Before(c.deadline) {
			c.err = c.timeout(now, nil)
			c.finished = true
			c.poke()
		}
	}
}

// endLocked ends a call whose context is done.
func (p *Poller) endLocked(c *call, now time.Time) {
	if c.finished {
		return
	}
	c.finished = true
	if err := c.ctx.Err(); errors.Is(err, context.DeadlineExceeded) {
		c.err = c.timeout(now, err)
	} else {
		c.err = fmt.Errorf("memberwait: wait for load balancer %s abandoned: %w", c.lbID, err)
	}
}

// leaveIfFinished unregisters a finished call and passes the lead on.
func (p *Poller) leaveIfFinished(lb *lbPoll, c *call) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !c.finished {
		return false
	}
	for i, other := range lb.calls {
		if other == c {
			lb.calls = append(lb.calls[:i], lb.calls[i+1:]...)
			break
		}
	}
	if lb.leader == c {
		lb.leader = nil
		for _, next := range lb.calls {
			if !next.finished {
				lb.leader = next
				next.promote <- struct{}{}
				break
			}
		}
	}
	if len(lb.calls) == 0 {
		delete(p.lbs, lb.id)
	}
	return true
}

// report hands the call's new verdicts to its OnUpdate, on its goroutine,
// in the order of the polls and, within a poll, of the members.
func (p *Poller) report(lbID string, c *call) {
	if c.opts.OnUpdate == nil {
		return
	}
	var updates []Update
	p.mu.Lock()
	for more := true; more; {
		more = false
		for _, w := range c.waiters {
			if len(w.unreported) > 0 {
				updates = append(updates, Update{LoadBalancerID: lbID, Selector: w.member, Verdict: w.unreported[0]})
				w.unreported = w.unreported[1:]
				more = true
			}
		}
	}
	p.mu.Unlock()
	for _, u := range updates {
		c.opts.OnUpdate(u)
	}
}

func (lb *lbPoll) kickLocked() {
	close(lb.kick)
	lb.kick = make(chan struct{})
}

// nextDueLocked is the earliest moment any live call wants a poll or times out.
func (lb *lbPoll) nextDueLocked() time.Time {
	var due time.Time
	earlier := func(t time.Time) {
		if !t.IsZero() && (due.IsZero() || t.Before(due)) {
			due = t
		}
	}
	for _, c := range lb.calls {
		if c.finished {
			continue
		}
		earlier(c.deadline)
		for _, w := range c.waiters {
			if !w.done {
				earlier(w.due)
			}
		}
	}
	return due
}

// requestLocked covers what the live calls need: their members' pools, or
// all pools if any member's pool is not known yet; the load balancer's
// status if any member asked for it or is done.
func (lb *lbPoll) requestLocked() Request {
	req := Request{LoadBalancerID: lb.id}
	all := false
	for _, c := range lb.calls {
		if c.finished {
			continue
		}
		req.HealthMonitors = req.HealthMonitors || c.opts.WantsHealthMonitors()
		for _, w := range c.waiters {
			// A member that is done is judged again at every poll of its
			// call, and its Done stands on the load balancer's status.
			req.LoadBalancerStatus = req.LoadBalancerStatus || w.needLB || w.done
			switch pool := cmp.Or(w.member.PoolID, w.progress.PoolID); pool {
			case "":
				all = true
			default:
				req.PoolIDs = append(req.PoolIDs, pool)
			}
		}
	}
	if all {
		req.PoolIDs = nil
	}
	return req
}

func (c *call) poke() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// timeout builds the error for a call that ran out of time, about its first
// member that was still pending.
func (c *call) timeout(now time.Time, cause error) error {
	e := &TimeoutError{LoadBalancerID: c.lbID, Target: c.opts.Target, Waited: now.Sub(c.registered), Cause: cause}
	for _, w := range c.waiters {
		if w.done {
			continue
		}
		e.Selector, e.Reason = w.member, w.verdict.Reason
		if w.verdict.Member != nil {
			last := *w.verdict.Member
			e.Last, e.Since = &last, w.progress.Since
		}
		break
	}
	return e
}

func allDone(ws []*waiter) bool {
	for _, w := range ws {
		if !w.done {
			return false
		}
	}
	return true
}
