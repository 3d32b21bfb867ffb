package sim

import (
	"math/rand/v2"
	"slices"
)

// faults adds a kind's faults to a scenario. Fault times fall in the span a
// rollout takes without faults, where they can hurt.
type faults struct {
	r *rand.Rand
	s *Scenario
}

func (f faults) span() int { return f.s.Replicas*240 + 120 }

// at returns a time within the rollout.
func (f faults) at() int { return f.s.RolloutAt + f.r.IntN(f.span()) }

// newMachine returns the creation index of one of the Machines the rollout
// creates (the first Replicas are the old ones).
func (f faults) newMachine() int { return f.s.Replicas + f.r.IntN(f.s.Replicas) }

func (f faults) apply(k Kind) {
	switch k {
	case Clean:
		return
	case StuckPending:
		f.stuck(between(f.r, 30, 1200))
	case StuckForever:
		f.stuck(Forever)
		f.person()
	case WorkerOutage:
		f.worker(f.r.IntN(5) == 0)
	case MemberErr:
		f.memberError()
	case Flap:
		f.flap()
	case SGMissing:
		f.sg(f.r.IntN(4) == 0)
	case Failover:
		f.failovers(between(f.r, 1, 2))
	case APIFaults:
		f.api()
	case Remediate:
		f.remediation()
	case ControllerCut:
		f.crashes(between(f.r, 1, 4), between(f.r, 0, 2))
	case Recreate:
		f.recreate()
	case AddressReuse:
		f.reuse()
	case ManualEarly:
		f.manualEarly()
	case NoMonitor:
		f.noMonitor()
	case IPv6Spelling:
		f.ipv6()
	case Mixed:
		f.mixed()
	}
	if k != Clean && k != ControllerCut && k != Mixed && f.r.IntN(4) == 0 {
		// A restart now and then, whatever the main fault.
		f.crashes(1, 0)
	}
}

func (f faults) mixed() {
	if f.r.IntN(2) == 0 {
		f.stuck(between(f.r, 30, 900))
	}
	if f.r.IntN(3) == 0 {
		f.worker(false)
	}
	if f.r.IntN(2) == 0 {
		f.flap()
	}
	if f.r.IntN(3) == 0 {
		f.sg(false)
	}
	if f.r.IntN(2) == 0 {
		f.failovers(between(f.r, 1, 3))
	}
	if f.r.IntN(2) == 0 {
		f.api()
	}
	if f.r.IntN(3) == 0 {
		f.remediation()
	}
	f.crashes(between(f.r, 0, 4), between(f.r, 0, 2))
	if f.r.IntN(4) == 0 {
		f.recreate()
	}
	if f.r.IntN(4) == 0 {
		f.s.IPv6, f.s.Respell = true, f.r.IntN(2) == 0
	}
	if f.r.IntN(3) == 0 {
		f.reuseAddresses()
	}
	if f.r.IntN(5) == 0 {
		f.s.TemplateRelease = templateRelease
	}
}

// stuck leaves one or more new members PENDING_CREATE after the LB is ACTIVE
// again: the amphorav2 quirk.
func (f faults) stuck(d int) {
	n := 1
	if d != Forever {
		n = between(f.r, 1, f.s.Replicas)
	}
	for range n {
		m := &f.s.Machines[f.newMachine()]
		m.Members[f.r.IntN(len(m.Members))].Stuck = d
	}
}

// person scripts a human who releases a hold by hand after it has lasted a
// while (past the alert), in a third of the runs.
func (f faults) person() {
	if f.r.IntN(3) == 0 {
		f.s.ManualAfter = between(f.r, 20*60, 45*60)
	}
}

func (f faults) worker(forever bool) {
	from := f.at()
	w := Window{From: from, To: from + between(f.r, 60, 1800)}
	if forever {
		w.To = Forever
		f.person()
	}
	f.s.Worker = &w
}

// memberError makes a new member's create flow revert. Half the time a
// person deletes it once alerted, and CAPO re-creates it; otherwise it stays
// (sometimes released by hand).
func (f faults) memberError() {
	m := &f.s.Machines[f.newMachine()]
	m.Members[f.r.IntN(len(m.Members))].Error = true
	if f.r.IntN(2) == 0 {
		f.s.FixErrorAfter = between(f.r, 16*60, 40*60)
	} else {
		f.person()
	}
}

// flap makes new Machines' API servers unreachable from the load balancer
// around the time their member is first configured: HAProxy marks the new
// server UP before its first check, so Octavia says ONLINE, then ERROR after
// three failed checks, then ONLINE again once five checks pass.
func (f faults) flap() {
	for range between(f.r, 1, f.s.Replicas) {
		m := &f.s.Machines[f.newMachine()]
		m.FlapLead, m.FlapFor = f.r.IntN(31), between(f.r, 10, 150)
	}
}

// sg gives the new Machines a security group without the rule: their members
// go ERROR until the rule is added.
func (f faults) sg(forever bool) {
	f.s.SGFrom = f.s.Replicas
	f.s.SGFixAt = f.at() + between(f.r, 120, 1800)
	if forever {
		f.s.SGFixAt = Forever
		f.person()
	}
}

// failovers adds LB failovers. Octavia refuses a failover while the load
// balancer is PENDING_*, so they never overlap.
func (f faults) failovers(n int) {
	for range n {
		from, d := f.at(), between(f.r, 20, 150)
		for moved := true; moved; {
			moved = false
			for _, o := range f.s.Failovers {
				if from < o.To+5 && o.From < from+d+5 {
					from, moved = o.To+5+f.r.IntN(120), true
				}
			}
		}
		f.s.Failovers = append(f.s.Failovers, FailoverPlan{Window: Window{From: from, To: from + d}, Frozen: f.r.IntN(2) == 0})
		slices.SortFunc(f.s.Failovers, func(a, b FailoverPlan) int { return a.From - b.From })
	}
}

func (f faults) api() {
	for range between(f.r, 2, 6) {
		from := f.at()
		code := []int{429, 500, 502, 503, 0}[f.r.IntN(5)]
		fault := APIFault{Window: Window{From: from, To: from + between(f.r, 5, 90)}, Code: code}
		if code == 429 {
			fault.RetryAfter = between(f.r, 1, 30)
		}
		f.s.APIFaults = append(f.s.APIFaults, fault)
	}
	if f.r.IntN(2) == 0 {
		from := f.at()
		f.s.APIFaults = append(f.s.APIFaults, APIFault{Window: Window{From: from, To: from + between(f.r, 120, 900)}, Code: 503})
	}
}

func (f faults) remediation() {
	f.s.Remediation = &Remediation{At: f.at(), Pick: f.r.Float64(), MHCTimeout: between(f.r, 60, 300)}
}

func (f faults) crashes(n, leaders int) {
	for i := range n + leaders {
		c := Crash{At: f.s.RolloutAt + f.r.IntN(f.span()*3/2), Leader: i >= n}
		if c.Leader {
			// The lease (15 s) runs out, another replica takes over and
			// syncs its caches.
			c.Down = between(f.r, 15, 45)
		} else {
			c.Down = between(f.r, 5, 240)
			c.MidReconcile = f.r.IntN(2) == 0
			c.Cut = f.r.Float64()
		}
		f.s.Crashes = append(f.s.Crashes, c)
	}
}

// recreate deletes a serving member and creates it again at the same
// address while its Machine's API server does not answer through the load
// balancer. Half the time it is an initial Machine just before KCP's first
// step (with maxSurge 0 that step's release looks at the initial Machines'
// members at once, before any settle window runs); otherwise a new Machine
// a while after its Node joined. A third of the time the gate's own
// requests fail from the delete on, so that it sees the member before and
// after but not the delete.
func (f faults) recreate() {
	p := RecreatePlan{Cut: between(f.r, 60, 900)}
	if f.r.IntN(2) == 0 {
		p.Machine, p.After = f.r.IntN(f.s.Replicas), max(f.s.RolloutAt-between(f.r, 0, 40), 1)
	} else {
		p.Machine, p.After = f.newMachine(), between(f.r, 30, 600)
	}
	if f.r.IntN(3) == 0 {
		p.ByCAPO, p.CAPODelay = true, between(f.r, 5, 30)
	}
	if f.r.IntN(3) == 0 {
		p.Blind = between(f.r, 20, 120)
	}
	f.s.Recreates = append(f.s.Recreates, p)
}

// reuseAddresses lets every new Machine take the address of the Machine
// that went last.
func (f faults) reuseAddresses() {
	for k := f.s.Replicas; k < len(f.s.Machines); k++ {
		f.s.Machines[k].ReuseAddress = true
	}
}

// reuse: replacements take their predecessor's address, and half the time
// its name. The gate is blind across some replacement — its controller
// down, or its requests failing — and half the time exactly across the
// first one: from its first release until the replacement's member first
// reads ONLINE (10 minutes at most). Two thirds of the time new Machines'
// API servers are not reachable when their members first read ONLINE.
func (f faults) reuse() {
	f.reuseAddresses()
	f.s.ReuseName = f.r.IntN(2) == 0
	switch f.r.IntN(4) {
	case 0:
		f.crashes(1, 0)
	case 1:
		from := f.at()
		f.s.APIFaults = append(f.s.APIFaults, APIFault{Window: Window{From: from, To: from + between(f.r, 60, 600)}, Code: 503, GateOnly: true})
	default:
		a := &Anchor{On: AnchorRelease, Until: AnchorReusedOnline, UntilAfter: between(f.r, 0, 20)}
		if from := between(f.r, 1, 30); f.r.IntN(2) == 0 {
			a.Crash = Crash{At: from, Down: 600}
		} else {
			a.Outage, a.GateOnly = Window{From: from, To: from + 600}, true
		}
		f.s.Anchor = a
	}
	switch f.r.IntN(3) {
	case 0:
		f.flap()
	case 1:
		f.sg(false)
	}
}

// templateRelease is the manual-release annotation's value when it comes
// from the control plane's machineTemplate.metadata.
const templateRelease = "platform-team: release by hand if stuck (template default)"

// manualEarly puts the manual-release annotation on every Machine from its
// creation, with a fault that makes holds matter: the gate must hold as if
// it were not there. A person still releases by hand, with a new value,
// now and then.
func (f faults) manualEarly() {
	f.s.TemplateRelease = templateRelease
	switch f.r.IntN(4) {
	case 0:
		f.stuck(between(f.r, 30, 1200))
	case 1:
		f.flap()
	case 2:
		f.sg(f.r.IntN(4) == 0)
	case 3:
		f.stuck(Forever)
		f.person()
	}
}

// noMonitor: pools without a health monitor, with faults Octavia reports
// without one (never an unreachable API server: without a monitor nothing
// in Octavia can tell, see docs/reliability.md).
func (f faults) noMonitor() {
	f.s.NoMonitor = true
	switch f.r.IntN(6) {
	case 1:
		f.stuck(between(f.r, 30, 1200))
	case 2:
		f.worker(false)
	case 3:
		f.memberError()
	case 4:
		f.failovers(between(f.r, 1, 2))
	case 5:
		f.api()
	}
}

// ipv6: IPv6 Machines whose members' addresses are spelled otherwise, and
// now and then an ordinary fault.
func (f faults) ipv6() {
	f.s.IPv6, f.s.Respell = true, true
	switch f.r.IntN(4) {
	case 1:
		f.stuck(between(f.r, 30, 1200))
	case 2:
		f.flap()
	case 3:
		f.failovers(1)
	}
}
