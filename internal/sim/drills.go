package sim

import "math/rand/v2"

// Drill is a scripted scenario: a seed's cluster with faults anchored to a
// moment the random campaign reaches only by chance.
type Drill struct {
	Name string
	// What the drill does and what the gate should do.
	Why      string
	Scenario Scenario
}

// drillSeed fixes the clusters the drills run on; any seed works, this one
// is what the report quotes.
const drillSeed = 29

// drillCluster is a fault-free cluster whose new Machines' security group
// does not admit the load balancer's subnet (so their members are never
// truly serving, and Octavia says so only after HAProxy's checks fail).
func drillCluster(replicas, surge int, capo string) Scenario {
	s := healthyDrillCluster(replicas, surge, capo)
	s.SGFrom, s.SGFixAt = replicas, Forever
	return s
}

// healthyDrillCluster is drillCluster without the security-group fault.
func healthyDrillCluster(replicas, surge int, capo string) Scenario {
	r := rand.New(rand.NewPCG(drillSeed, 0x6472696c))
	s := cluster(r, drillSeed, replicas, surge, capo)
	s.Kind, s.Pools = "drill", 1
	for k := range s.Machines {
		s.Machines[k].Members = s.Machines[k].Members[:1]
		if capo == "v0.14" {
			// The member comes after the Node: KCP has already deleted
			// the old Machine when the new member first reads ONLINE.
			s.Machines[k].MemberLag = 200
		}
	}
	return s
}

// Drills returns the scripted scenarios.
func Drills() []Drill {
	// The first five drills reproduced two bugs, now fixed in memberwait (a
	// settle window runs only over statuses fresh throughout):
	//
	//   - the gap bug (crash-across-failover*, leader-change-across-short-failover):
	//     a member's since-when survives a gap in observation (controller
	//     down); ONLINE before an amphora failover and ONLINE after it
	//     (HAProxy re-adds every server UP before its first check) count as
	//     ONLINE throughout, so the settle window is credited with time
	//     nobody watched;
	//   - the frozen bug (frozen-failover-in-settle-window*): while the load
	//     balancer is PENDING_UPDATE for an amphora failover no heartbeat
	//     comes and Octavia keeps every member's last operating status: a
	//     member read ONLINE (HAProxy's UP before its first check) just
	//     before keeps reading ONLINE, the settle window runs on it, and once
	//     it has the gate counts the member as serving (MemberReached) though
	//     its checks fail.
	var out []Drill
	add := func(name, why string, s Scenario) {
		s.Kind = Kind("drill:" + name)
		out = append(out, Drill{Name: name, Why: why, Scenario: s})
	}

	s := drillCluster(1, 1, "v0.13")
	s.Anchor = &Anchor{Crash: Crash{At: 1, Down: 210}, Failover: FailoverPlan{Window: Window{From: 60, To: 200}}}
	add("crash-across-failover",
		"the controller crashes 1 s after it first records the new member ONLINE (HAProxy's UP before its first check), an amphora failover "+
			"runs while it is down, it comes back while the new HAProxy says UP again: the gate must not count the gap as serving", s)

	s = drillCluster(3, 0, "v0.13")
	s.Anchor = &Anchor{Crash: Crash{At: 1, Down: 210}, Failover: FailoverPlan{Window: Window{From: 60, To: 200}}}
	add("crash-across-failover-3", "the same with three replicas and maxSurge 0", s)

	s = drillCluster(1, 1, "v0.14")
	s.Anchor = &Anchor{Crash: Crash{At: 1, Down: 45, Leader: true}, Failover: FailoverPlan{Window: Window{From: 5, To: 27}}}
	add("leader-change-across-short-failover",
		"CAPO v0.14 adds the member after KCP deleted the old Machine; a leader change (45 s) spans a 22 s failover right after "+
			"the first ONLINE", s)

	s = drillCluster(1, 1, "v0.13")
	s.Anchor = &Anchor{Failover: FailoverPlan{Window: Window{From: 10, To: 110}, Frozen: true}}
	add("frozen-failover-in-settle-window",
		"an amphora failover 10 s after the new member first reads ONLINE, Octavia keeping the statuses as they were (no heartbeat); "+
			"the controller watches all along", s)

	s = drillCluster(3, 1, "v0.14")
	s.Anchor = &Anchor{Failover: FailoverPlan{Window: Window{From: 10, To: 110}, Frozen: true}}
	add("frozen-failover-in-settle-window-3", "the same with three replicas, maxSurge 1 and CAPO v0.14", s)

	s = drillCluster(1, 1, "v0.13")
	s.Anchor = &Anchor{Crash: Crash{At: 1, Down: 210}}
	add("crash-in-settle-window",
		"the controller is down while the new member falls from ONLINE to ERROR: it must see ERROR when it comes back", s)

	s = drillCluster(1, 1, "v0.13")
	s.Anchor = &Anchor{Failover: FailoverPlan{Window: Window{From: 60, To: 200}}}
	add("failover-in-settle-window",
		"an amphora failover right after the first ONLINE, watched: the gate sees OFFLINE and starts the window again", s)

	s = drillCluster(1, 1, "v0.13")
	s.Anchor = &Anchor{Failover: FailoverPlan{Window: Window{From: 60, To: 200}}, Outage: Window{From: 1, To: 211}}
	add("octavia-outage-across-failover",
		"Octavia's API is down (503) instead of the controller: the members keep their progress through the failed observations, "+
			"and the window starts again after the gap", s)

	// The next four pin down a member with a new ID at an old member's
	// address: it must start its settle window afresh, whatever the
	// progress recorded for the address (or the Machine's name) says. The
	// gate is blind from before the old member goes until the new one
	// reads ONLINE — HAProxy's UP before its first check — so that the
	// only thing telling the two apart is the ID.
	s = recreateDrill()
	s.Anchor = &Anchor{On: AnchorStart, Crash: Crash{At: s.RolloutAt - 6, Down: 1200}, Until: AnchorReusedOnline, UntilAfter: 2}
	add("recreate-across-crash",
		"just before KCP's first step (maxSurge 0), a person deletes a serving initial Machine's member and creates it again at the "+
			"same address while its API server does not answer through the load balancer; the controller is down from before the "+
			"delete until the new member reads ONLINE: it must not count the old member's settle time for the new one", s)

	s = recreateDrill()
	s.Anchor = &Anchor{On: AnchorStart, Outage: Window{From: s.RolloutAt - 6, To: s.RolloutAt + 1200}, GateOnly: true, Until: AnchorReusedOnline,
		UntilAfter: 2}
	add("recreate-across-gate-outage",
		"the same with the gate's Octavia requests failing instead of its controller down (the members keep their progress "+
			"through the failed reads)", s)

	s = reuseDrill()
	s.Anchor = &Anchor{On: AnchorRelease, Crash: Crash{At: 1, Down: 1200}, Until: AnchorReusedOnline, UntilAfter: 2}
	add("address-reuse-across-crash",
		"the replacement of the first Machine takes its address and its name; the controller is down from that Machine's release "+
			"until the replacement's member (CAPO v0.14: after its Node) reads ONLINE: the record kept under the name is the old "+
			"member's, and the new member must start afresh", s)

	s = reuseDrill()
	s.Anchor = &Anchor{On: AnchorRelease, Outage: Window{From: 1, To: 1201}, GateOnly: true, Until: AnchorReusedOnline, UntilAfter: 2}
	add("address-reuse-across-gate-outage", "the same with the gate's Octavia requests failing instead of its controller down", s)
	return out
}

// recreateDrill is three healthy replicas rolled out with maxSurge 0 whose
// second initial Machine has its member re-created by hand 4 s before the
// rollout starts, its API server unreachable through the load balancer for
// 10 minutes from the delete on.
func recreateDrill() Scenario {
	s := healthyDrillCluster(3, 0, "v0.13")
	s.Recreates = []RecreatePlan{{Machine: 1, After: s.RolloutAt - 4, Cut: 600}}
	return s
}

// reuseDrill is drillCluster with three replicas, maxSurge 0 and CAPO v0.14,
// each replacement taking the address and name of the Machine gone before.
func reuseDrill() Scenario {
	s := drillCluster(3, 0, "v0.14")
	s.ReuseName = true
	for k := s.Replicas; k < len(s.Machines); k++ {
		s.Machines[k].ReuseAddress = true
	}
	return s
}
