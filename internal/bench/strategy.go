package bench

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Waiter is one wait: for a member of a load balancer to be ready after its
// create, or to be gone after its delete.
type Waiter struct {
	LB, Pool, Member string
	Gone             bool
	// Rand is this waiter's own source of jitter, seeded per run and
	// waiter, so concurrent waiters draw reproducible numbers.
	Rand *rand.Rand
}

// Outcome is how one wait ended, as the strategy itself reported it.
type Outcome struct {
	// OK is true when the strategy reported success.
	OK bool
	// Err is its error otherwise; Timeout marks one that is its own time
	// (or step) budget running out rather than a verdict on the member.
	Err     error
	Timeout bool
	// At is the virtual time of the decision since the start.
	At time.Duration
	// SawActive is when the strategy first observed the member's own
	// provisioning status ACTIVE; negative if it never did.
	SawActive time.Duration
	// Polls is how many times it looked.
	Polls int
}

// Runner performs waits on one cloud. A runner is made per run, so state
// shared by a strategy's waiters (memberwait's Poller) lives in it.
type Runner interface {
	Wait(ctx context.Context, w Waiter) Outcome
}

// Strategy is a way of waiting, modelled from its published source.
type Strategy struct {
	// Key names it in flags and tests; Name in tables.
	Key, Name string
	// Looks says what it reads; Schedule how often; Errors what it does
	// with an API error; Judges what it takes for done; Source cites where
	// all this is published.
	Looks, Schedule, Errors, Judges, Source string
	// Shared is true when concurrent waiters on a load balancer share one
	// poll, so the waiters of one load balancer park on a single timer.
	Shared bool
	// New makes the strategy's runner for one run on c.
	New func(c *Cloud) Runner
}

// ready is implemented by runners whose waiters must all have registered
// before virtual time first moves (see drive).
type ready interface {
	Ready(ws []Waiter) bool
}

// errBudget is what a peer's own time or step budget running out looks like.
var errBudget = errors.New("gave up: wait budget spent")

// Strategies returns every strategy, peers first, in table order.
func Strategies() []Strategy {
	return []Strategy{capo013(), capo014(), occm(), terraform(), kuryr(), memberwaitEach(), memberwaitShared()}
}

// StrategyByKey returns the strategy with that key.
func StrategyByKey(key string) (Strategy, bool) {
	for _, s := range Strategies() {
		if s.Key == key {
			return s, true
		}
	}
	return Strategy{}, false
}

// IsMemberwait reports whether the strategy is one of memberwait's.
func (s Strategy) IsMemberwait() bool { return s.Key == keyMemberwait || s.Key == keyMemberwaitShared }

// recorder notes what a peer's wait saw, on the virtual clock.
type recorder struct {
	c         *Cloud
	polls     int
	sawActive time.Duration
}

func newRecorder(c *Cloud) *recorder { return &recorder{c: c, sawActive: -1} }

// memberStatus notes one observation of the member's provisioning status.
func (r *recorder) memberStatus(s string) {
	if s == "ACTIVE" && r.sawActive < 0 {
		r.sawActive = r.c.Now()
	}
}

// done builds the outcome for a wait that ended now with err.
func (r *recorder) done(err error) Outcome {
	return Outcome{OK: err == nil, Err: err, Timeout: errors.Is(err, errBudget), At: r.c.Now(), SawActive: r.sawActive, Polls: r.polls}
}
