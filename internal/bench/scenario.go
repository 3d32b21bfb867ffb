package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/membergate/membergate/pkg/memberwait"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
)

// Case is one wait of a scenario and the truth it is judged against.
type Case struct {
	Waiter
	// ReadyAt is when the member truly serves (for a delete: is gone);
	// negative when it never does, so that only a failure is right.
	ReadyAt time.Duration
	// ActiveAt is when the member's provisioning status turns ACTIVE;
	// negative when it never does.
	ActiveAt time.Duration
}

// Scenario is one emulated situation every strategy is put through.
type Scenario struct {
	ID, Title string
	// Story says what happens, for the report.
	Story string
	// Runs is how many seeds the scenario is run with.
	Runs int
	// Faults are injected once the setup is done, in order.
	Faults []octaviatest.Fault
	// Setup builds the cloud's state at time zero and returns the waits;
	// rng draws anything random about the scenario itself, identically for
	// every strategy.
	Setup func(c *Cloud, rng *rand.Rand) ([]Case, error)
}

// Run is one strategy's run through one scenario with one seed.
type Run struct {
	Seed     int64
	Cases    []Case
	Outcomes []Outcome
	// Requests are the waiters' requests with the virtual time each was sent.
	Requests []APIRequest
	// Polls is a shared Poller's count of polls; zero for other strategies.
	Polls int
	// LBOf maps a load balancer's or pool's ID to its load balancer.
	LBOf map[string]string
}

// Hooks observe a run from outside; the Go benchmarks measure with them.
type Hooks struct {
	// Start is called once the cloud is set up, right before the waiters start.
	Start func()
	// AtRest is called once, when every waiter is registered and parked,
	// before virtual time first moves.
	AtRest func()
	// Done is called as soon as the last waiter has returned.
	Done func()
}

// RunOne puts one strategy through one scenario with one seed.
func RunOne(sc Scenario, st Strategy, seed int64, hooks Hooks) (*Run, error) {
	c := newCloud(seed)
	defer c.Close()
	cases, err := sc.Setup(c, rand.New(rand.NewPCG(uint64(seed), 0x5ce7a210)))
	if err != nil {
		return nil, fmt.Errorf("%s setup: %w", sc.ID, err)
	}
	for _, f := range sc.Faults {
		c.Octa.InjectFault(f)
	}
	c.ResetCounters()

	runner := st.New(c)
	ws := make([]Waiter, len(cases))
	for i := range cases {
		cases[i].Rand = rand.New(rand.NewPCG(uint64(seed), uint64(i)+1))
		ws[i] = cases[i].Waiter
	}
	outcomes := make([]Outcome, len(ws))
	if hooks.Start != nil {
		hooks.Start()
	}
	a := newActors(st.Shared)
	for i, w := range ws {
		a.enter(w.LB)
		go func() {
			outcomes[i] = runner.Wait(context.Background(), w)
			a.exit(w.LB)
		}()
	}
	var readyFn func() bool
	if r, ok := runner.(ready); ok {
		readyFn = func() bool { return r.Ready(ws) }
	}
	drive(c.Clock, a, readyFn, hooks.AtRest)
	if hooks.Done != nil {
		hooks.Done()
	}

	run := &Run{Seed: seed, Cases: cases, Outcomes: outcomes, Requests: c.Requests(), LBOf: lbIndex(c)}
	if s, ok := runner.(interface{ Stats() memberwait.PollerStats }); ok {
		run.Polls = s.Stats().Polls
	}
	return run, nil
}

// lbIndex maps every load balancer and pool of the cloud to its load
// balancer, to attribute requests.
func lbIndex(c *Cloud) map[string]string {
	idx := map[string]string{}
	for _, lb := range c.lbs {
		idx[lb.LoadBalancerID] = lb.LoadBalancerID
		for _, p := range lb.PoolIDs {
			idx[p] = lb.LoadBalancerID
		}
	}
	return idx
}

// RunAll puts every strategy through a scenario with seeds 1…sc.Runs,
// runs in parallel; the result is per strategy key, in seed order.
func RunAll(sc Scenario, strategies []Strategy) (map[string][]*Run, error) {
	type job struct {
		st   Strategy
		seed int64
	}
	out := map[string][]*Run{}
	for _, st := range strategies {
		out[st.Key] = make([]*Run, sc.Runs)
	}
	jobs := make(chan job)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	// Runs spend most of their real time waiting on loopback HTTP, so more
	// workers than cores keep the cores busy.
	for range 2 * runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				r, err := RunOne(sc, j.st, j.seed, Hooks{})
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				out[j.st.Key][j.seed-1] = r
				mu.Unlock()
			}
		}()
	}
	for seed := int64(1); seed <= int64(sc.Runs); seed++ {
		for _, st := range strategies {
			jobs <- job{st, seed}
		}
	}
	close(jobs)
	wg.Wait()
	return out, firstErr
}

// Judgement is how an outcome compares with the truth.
type Judgement int

const (
	// Correct: success once the member serves (or is gone), or a failure
	// for a member that never serves.
	Correct Judgement = iota
	// Early: success before the member serves, or for one that never does.
	Early
	// Aborted: an error ended the wait although the member was going to serve.
	Aborted
	// GaveUp: the strategy's budget ran out although the member was going
	// to serve.
	GaveUp
)

// judge compares an outcome with the truth of its case.
func judge(c Case, o Outcome) Judgement {
	switch {
	case c.ReadyAt < 0 && o.OK, o.OK && o.At < c.ReadyAt:
		return Early
	case c.ReadyAt < 0, o.OK:
		return Correct
	case o.Timeout:
		return GaveUp
	}
	return Aborted
}
