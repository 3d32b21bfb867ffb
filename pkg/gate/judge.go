package gate

import "github.com/membergate/membergate/pkg/memberwait"

// Candidate is one control-plane Machine to judge: its gate.Machine (without
// Members) and how to find and resume its members.
type Candidate struct {
	Machine Machine
	// Find returns the Machine's member in a pool, if it has one.
	Find func(memberwait.PoolStatus) (memberwait.MemberStatus, bool)
	// Progress returns the member's progress as it was persisted for the
	// pool (the zero value to start afresh).
	Progress func(pool string) memberwait.Progress
}

// Judge turns one observation of the API load balancer into the gate's
// input: the load balancer's state and pools, each Machine's member verdict
// per pool (memberwait.Evaluate on the persisted progress), and the members
// no Machine claims. It returns the verdicts by Machine and pool. The
// controller and the simulation both judge with it, so the simulation
// exercises exactly the controller's judgement.
func Judge(in *Input, snap *memberwait.Snapshot, obs memberwait.Observation, opts memberwait.Options, machines []Candidate) map[string]map[string]memberwait.Verdict {
	verdicts := map[string]map[string]memberwait.Verdict{}
	claimed := map[string]bool{}
	if snap != nil && snap.Found {
		in.LoadBalancer.Found = true
		for _, p := range snap.Pools {
			in.PoolIDs = append(in.PoolIDs, p.ID)
		}
	}
	for _, c := range machines {
		gm := c.Machine
		gm.Members = map[string]memberwait.Verdict{}
		if snap != nil && snap.Found {
			for _, p := range snap.Pools {
				ms, ok := c.Find(p)
				if !ok {
					continue
				}
				claimed[ms.ID] = true
				gm.Members[p.ID] = memberwait.Evaluate(obs, memberwait.Selector{PoolID: p.ID, ID: ms.ID}, opts, c.Progress(p.ID))
			}
		}
		verdicts[gm.Name] = gm.Members
		in.Machines = append(in.Machines, gm)
	}
	if snap != nil {
		for _, p := range snap.Pools {
			for _, ms := range p.Members {
				if !claimed[ms.ID] {
					in.Orphans = append(in.Orphans, ms)
				}
			}
		}
	}
	return verdicts
}
