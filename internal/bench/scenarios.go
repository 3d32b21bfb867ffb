package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"

	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
)

// Statuses used in scripts.
const (
	pendingCreate = octaviatest.StatusPendingCreate
	active        = octaviatest.StatusActive
	statusError   = octaviatest.StatusError
	offline       = octaviatest.StatusOffline
	online        = octaviatest.StatusOnline
)

// Scenario timings.
const (
	s1ActiveAt = 45 * time.Second
	s1OnlineAt = 55 * time.Second
	s3ErrorAt  = 5 * time.Second
	s6ActiveAt = 240 * time.Second
	s6OnlineAt = 242 * time.Second
	// Fan-in members serve at a random moment in [0, fanInHorizon).
	fanInHorizon = 120 * time.Second
	// A member reads ONLINE at the amphora heartbeat after it turned ACTIVE.
	heartbeat = 10 * time.Second
)

// Scenarios returns the scenarios of the report, S1 to S7, each with its
// number of seeded runs. The scale run is a Go benchmark (BenchmarkWaiters).
func Scenarios() []Scenario {
	return []Scenario{ScenarioAmphoraQuirk(), ScenarioFanIn(10, 5), ScenarioOneMemberFanIn(10), ScenarioMemberError(),
		ScenarioNoisyAPI(), ScenarioDelete(), ScenarioLongWait(), ScenarioFalseOnline()}
}

// ScenarioAmphoraQuirk is S1: the load balancer is ACTIVE again 0.7 s after
// the member create, while the member stays PENDING_CREATE until 45 s and
// reads ONLINE from 55 s.
func ScenarioAmphoraQuirk() Scenario {
	return Scenario{
		ID: "S1", Title: "amphorav2 quirk", Runs: 200,
		Story: "A member is created through the API at t = 0 (as CAPO does). The load balancer is `PENDING_UPDATE` for the " +
			"emulator's member delay (0.7 s) and `ACTIVE` after that, while the member stays `PENDING_CREATE` until 45 s, " +
			"turns `ACTIVE`/`OFFLINE` and reads `ONLINE` from 55 s: it truly serves from 55 s.",
		Setup: servesAt(s1ActiveAt, s1OnlineAt),
	}
}

// ScenarioFanIn is S2: perLB waiters on each of lbs load balancers, one per
// member, all starting together; each member turns ACTIVE and then ONLINE
// at the next heartbeat, serving at a random moment in the first 120 s.
func ScenarioFanIn(lbs, perLB int) Scenario {
	return Scenario{
		ID: "S2", Title: "fan-in", Runs: 5,
		Story: fmt.Sprintf("%d load balancers with %d new members each (%d concurrent waiters, all starting at t = 0). "+
			"Each member is `PENDING_CREATE` under an `ACTIVE` load balancer, turns `ACTIVE` at a random moment and "+
			"reads `ONLINE` at the next heartbeat (0–10 s later); it serves at a uniformly random moment in [0, 120 s).",
			lbs, perLB, lbs*perLB),
		Setup: func(c *Cloud, rng *rand.Rand) ([]Case, error) { return c.fanIn(rng, lbs, perLB, true) },
	}
}

// ScenarioOneMemberFanIn is S2b: S1's timeline with waiters concurrent
// waits on the same member, each with its own jitter.
func ScenarioOneMemberFanIn(waiters int) Scenario {
	sc := ScenarioAmphoraQuirk()
	sc.ID, sc.Title, sc.Runs = "S2b", "fan-in on one member", 20
	sc.Story = fmt.Sprintf("S1's timeline with %d concurrent waiters on the same new member, all starting at t = 0 — say, "+
		"a controller's workers and a script. Each waiter draws its own jitter. One waiter costs what S1 shows.", waiters)
	setup := sc.Setup
	sc.Setup = func(c *Cloud, rng *rand.Rand) ([]Case, error) {
		cs, err := setup(c, rng)
		if err != nil {
			return nil, err
		}
		for len(cs) < waiters {
			cs = append(cs, cs[0])
		}
		return cs, nil
	}
	return sc
}

// ScenarioScale is the scale run: waiters members on lbs load balancers.
// Members are already ACTIVE and read ONLINE at a random moment in the
// first 120 s; one status transition per member keeps the emulator's
// bookkeeping small at this size.
func ScenarioScale(lbs, perLB int) Scenario {
	return Scenario{
		ID: "S8", Title: "scale", Runs: 1,
		Story: fmt.Sprintf("%d concurrent waiters on %d load balancers (%d members each), in one process. Members are "+
			"`ACTIVE`/`OFFLINE` and read `ONLINE` at a uniformly random moment in [0, 120 s).", lbs*perLB, lbs, perLB),
		Setup: func(c *Cloud, rng *rand.Rand) ([]Case, error) { return c.fanIn(rng, lbs, perLB, false) },
	}
}

// ScenarioMemberError is S3: Octavia's revert path leaves the member in
// ERROR at 5 s under an ACTIVE load balancer.
func ScenarioMemberError() Scenario {
	return Scenario{
		ID: "S3", Title: "member ERROR", Runs: 200,
		Story: "The member is created at t = 0 and goes `ERROR` at 5 s (Octavia's revert path: member `ERROR`, load balancer " +
			"back to `ACTIVE`). It never serves: the right answer is a failure, as soon as possible.",
		Setup: func(c *Cloud, _ *rand.Rand) ([]Case, error) {
			return c.newMember(octaviatest.MemberScript{
				Provisioning: []octaviatest.Step{{After: 0, Status: pendingCreate}, {After: s3ErrorAt, Status: statusError}},
			}, -1, -1)
		},
	}
}

// ScenarioNoisyAPI is S4: S1's timeline behind an API where 30 % of the
// waiters' requests fail with 409, 429 or 503 and every one takes 200 ms.
func ScenarioNoisyAPI() Scenario {
	sc := ScenarioAmphoraQuirk()
	sc.ID, sc.Title = "S4", "noisy API"
	sc.Story = "S1's timeline, but every request of the waiters takes 200 ms and 30 % of them are answered 409, 429 or 503 " +
		"(429 and 503 with `Retry-After: 1`), drawn from the emulator's seeded source."
	sc.Faults = []octaviatest.Fault{
		// Latency first: the first fault that answers with a code stops
		// the others, and every request must be slow.
		{Method: "GET", Latency: 200 * time.Millisecond},
		{Method: "GET", Probability: 0.3, Codes: []int{409, 429, 503}},
	}
	return sc
}

// ScenarioDelete is S5: a serving member is deleted at t = 0 and is gone
// (404) once the delete flow ends, 0.5 s later.
func ScenarioDelete() Scenario {
	gone := octaviatest.DefaultDelays().Delete
	return Scenario{
		ID: "S5", Title: "member deleted", Runs: 200,
		Story: fmt.Sprintf("A serving member is deleted through the API at t = 0; it is `PENDING_DELETE` under a `PENDING_UPDATE` "+
			"load balancer and gone (404) at %s, when the load balancer is `ACTIVE` again.", seconds(gone)),
		Setup: func(c *Cloud, _ *rand.Rand) ([]Case, error) {
			s := c.seed(kubeAPI("kubeapi", 3))
			id := s.MemberIDs[0][2]
			if err := pools.DeleteMember(context.Background(), c.Client, s.PoolIDs[0], id).ExtractErr(); err != nil {
				return nil, fmt.Errorf("deleting member: %w", err)
			}
			return []Case{{Waiter: Waiter{LB: s.LoadBalancerID, Pool: s.PoolIDs[0], Member: id, Gone: true}, ReadyAt: gone, ActiveAt: -1}}, nil
		},
	}
}

// ScenarioLongWait is S6: the member turns ACTIVE at 240 s and ONLINE at
// 242 s, where uncapped backoffs have stretched their gaps.
func ScenarioLongWait() Scenario {
	return Scenario{
		ID: "S6", Title: "long wait", Runs: 200,
		Story: "The member stays `PENDING_CREATE` for 4 minutes (a slow amphora), turns `ACTIVE` at 240 s and reads `ONLINE` " +
			"at 242 s. CAPO's whole budget is ≈274 s, and its gaps are ≈44 s and ≈55 s by then.",
		Setup: servesAt(s6ActiveAt, s6OnlineAt),
	}
}

// ScenarioFalseOnline is S7: HAProxy adds the new server as UP before its
// first check, so the member reads ONLINE at 10 s, then falls to ERROR at
// 40 s when max_retries_down checks have failed (say, a security group
// drops them). It never truly serves.
func ScenarioFalseOnline() Scenario {
	return Scenario{
		ID: "S7", Title: "false ONLINE", Runs: 50,
		Story: "The member turns `ACTIVE` at 5 s and reads `ONLINE` at 10 s — HAProxy adds a server as UP before its first " +
			"check — then operating `ERROR` at 40 s once 3 checks have failed (a security group drops them). It never truly " +
			"serves: the right answer is not to report success.",
		Setup: func(c *Cloud, _ *rand.Rand) ([]Case, error) {
			return c.newMember(octaviatest.MemberScript{
				Provisioning: []octaviatest.Step{{After: 0, Status: pendingCreate}, {After: 5 * time.Second, Status: active}},
				Operating: []octaviatest.Step{{After: 0, Status: offline}, {After: 10 * time.Second, Status: online},
					{After: 40 * time.Second, Status: statusError}},
			}, -1, 5*time.Second)
		},
	}
}

// kubeAPI is CAPO's API server load balancer: a TCP listener on 6443 whose
// pool has CAPO's default health monitor and `serving` ONLINE members.
func kubeAPI(name string, serving int) octaviatest.LoadBalancerSpec {
	pool := &octaviatest.PoolSpec{Name: name, Monitor: &octaviatest.MonitorSpec{Type: "TCP", Delay: 10, Timeout: 5, MaxRetries: 5, MaxRetriesDown: 3}}
	for i := range serving {
		pool.Members = append(pool.Members, octaviatest.MemberSpec{Name: fmt.Sprintf("old-%d", i), Address: fmt.Sprintf("10.0.0.%d", 10+i),
			ProtocolPort: 6443, OperatingStatus: online})
	}
	return octaviatest.LoadBalancerSpec{Name: name, Listeners: []octaviatest.ListenerSpec{{Port: 6443, Pool: pool}}}
}

// seed creates a load balancer tree directly in the emulator.
func (c *Cloud) seed(spec octaviatest.LoadBalancerSpec) octaviatest.Seeded {
	s := c.Octa.Seed(spec)
	c.lbs = append(c.lbs, s)
	return s
}

// servesAt is the Setup of one new member that is PENDING_CREATE until
// activeAt, then ACTIVE, and truly serves from onlineAt, when it reads ONLINE.
func servesAt(activeAt, onlineAt time.Duration) func(*Cloud, *rand.Rand) ([]Case, error) {
	return func(c *Cloud, _ *rand.Rand) ([]Case, error) {
		return c.newMember(octaviatest.MemberScript{
			Provisioning: []octaviatest.Step{{After: 0, Status: pendingCreate}, {After: activeAt, Status: active}},
			Operating:    []octaviatest.Step{{After: 0, Status: offline}, {After: onlineAt, Status: online}},
		}, onlineAt, activeAt)
	}
}

// newMember seeds CAPO's load balancer and creates one new member through
// the API, as CAPO does, with script as its timeline.
func (c *Cloud) newMember(script octaviatest.MemberScript, readyAt, activeAt time.Duration) ([]Case, error) {
	s := c.seed(kubeAPI("kubeapi", 2))
	c.Octa.ScriptMembers(octaviatest.MemberMatch{Name: "new-0"}, script)
	m, err := pools.CreateMember(context.Background(), c.Client, s.PoolIDs[0],
		pools.CreateMemberOpts{Name: "new-0", Address: "10.0.0.20", ProtocolPort: 6443}).Extract()
	if err != nil {
		return nil, fmt.Errorf("creating member: %w", err)
	}
	return []Case{{Waiter: Waiter{LB: s.LoadBalancerID, Pool: s.PoolIDs[0], Member: m.ID}, ReadyAt: readyAt, ActiveAt: activeAt}}, nil
}

// fanIn seeds lbs load balancers with perLB new members each, serving at
// random moments in [0, fanInHorizon). With provisioning, each member is
// PENDING_CREATE until it turns ACTIVE up to a heartbeat before it reads
// ONLINE; without, it is ACTIVE from the start.
func (c *Cloud) fanIn(rng *rand.Rand, lbs, perLB int, provisioning bool) ([]Case, error) {
	type timeline struct {
		cs             Case
		activeAt, onAt time.Duration
	}
	var tls []timeline
	for l := range lbs {
		spec := kubeAPI(fmt.Sprintf("lb-%d", l), 0)
		for m := range perLB {
			k := l*perLB + m
			spec.Listeners[0].Pool.Members = append(spec.Listeners[0].Pool.Members, octaviatest.MemberSpec{
				Name: fmt.Sprintf("new-%d", m), Address: fmt.Sprintf("10.%d.%d.%d", 1+k>>16, (k>>8)&255, k&255)})
		}
		s := c.seed(spec)
		for _, id := range s.MemberIDs[0] {
			on := randomMoment(rng, fanInHorizon)
			act := time.Duration(0)
			if provisioning {
				act = on - randomMoment(rng, min(heartbeat, on))
			}
			tls = append(tls, timeline{Case{Waiter: Waiter{LB: s.LoadBalancerID, Pool: s.PoolIDs[0], Member: id}, ReadyAt: on, ActiveAt: act}, act, on})
		}
	}
	// Scripting in time order keeps the emulator's sorted timeline cheap
	// to insert into.
	order := slices.Clone(tls)
	slices.SortStableFunc(order, func(a, b timeline) int { return int(a.onAt - b.onAt) })
	for _, t := range order {
		script := octaviatest.MemberScript{Operating: []octaviatest.Step{{After: t.onAt, Status: online}}}
		if provisioning {
			script.Provisioning = []octaviatest.Step{{After: 0, Status: pendingCreate}, {After: t.activeAt, Status: active}}
		}
		if err := c.Octa.ScriptMember(t.cs.Member, script); err != nil {
			return nil, err
		}
	}
	cases := make([]Case, len(tls))
	for i, t := range tls {
		cases[i] = t.cs
	}
	return cases, nil
}

// randomMoment draws a moment in [0, d), to the millisecond.
func randomMoment(rng *rand.Rand, d time.Duration) time.Duration {
	ms := d.Milliseconds()
	if ms <= 0 {
		return 0
	}
	return time.Duration(rng.Int64N(ms)) * time.Millisecond
}
