package octaviatest

import (
	"fmt"
	"time"
)

// Step is one scheduled status of a scripted member.
type Step struct {
	After  time.Duration // since the member was created
	Status string        // any string; the emulator does not check it, so unknown statuses can be tested
}

// MemberScript replaces a member's own status timeline. It never changes the
// parents': a member create still puts the load balancer, its listeners and
// the pool into PENDING_UPDATE and returns them to ACTIVE after
// Delays.Member, which is how amphorav2 reports the load balancer ACTIVE
// while the member is still PENDING_CREATE, and how Octavia's revert path
// leaves a member in ERROR under an ACTIVE load balancer.
type MemberScript struct {
	// Provisioning, when set, replaces [PENDING_CREATE@0, ACTIVE@Delays.Member].
	// The last step sticks; without an ACTIVE step the member stays stuck.
	Provisioning []Step
	// Operating, when set, moves operating_status; by default it keeps its
	// initial value (NO_MONITOR without a pool monitor, else OFFLINE), as real
	// Octavia does without amphora heartbeats.
	Operating []Step
}

// MemberMatch selects members by pool, name, address and port; an empty
// (zero) field matches anything.
type MemberMatch struct {
	PoolID       string
	Name         string
	Address      string
	ProtocolPort int
}

type scriptRule struct {
	match  MemberMatch
	script MemberScript
}

// ScriptMembers applies script to every member created afterwards, by POST or
// batch PUT, that matches. When several registered scripts match, the most
// recently registered one wins.
func (s *Server) ScriptMembers(match MemberMatch, script MemberScript) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts = append(s.scripts, scriptRule{match: match, script: cloneScript(script)})
}

// ScriptMember applies script to an existing member, with steps counted from
// its creation time; steps already past take effect on the next request. Only
// the timelines the script sets (provisioning, operating) are replaced.
func (s *Server) ScriptMember(memberID string, script MemberScript) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.applyDue(s.clk.Now())
	m := s.st.members[memberID]
	if m == nil {
		return fmt.Errorf("octaviatest: member %s not found", memberID)
	}
	s.scheduleScript(m, cloneScript(script))
	return nil
}

func cloneScript(sc MemberScript) MemberScript {
	return MemberScript{
		Provisioning: append([]Step(nil), sc.Provisioning...),
		Operating:    append([]Step(nil), sc.Operating...),
	}
}

func (s *Server) scriptFor(poolID string, m *member) (MemberScript, bool) {
	for i := len(s.scripts) - 1; i >= 0; i-- {
		mt := s.scripts[i].match
		if (mt.PoolID == "" || mt.PoolID == poolID) && (mt.Name == "" || mt.Name == m.name) &&
			(mt.Address == "" || mt.Address == m.address) && (mt.ProtocolPort == 0 || mt.ProtocolPort == m.port) {
			return s.scripts[i].script, true
		}
	}
	return MemberScript{}, false
}

// scheduleScript replaces the timelines a script sets; with no provisioning
// steps, a new member keeps the default one.
func (s *Server) scheduleScript(m *member, sc MemberScript) {
	if len(sc.Provisioning) > 0 {
		s.st.cancel(kindMember, m.id, fieldProv)
		for _, st := range sc.Provisioning {
			s.st.schedule(m.createdAt.Add(st.After), kindMember, m.id, fieldProv, st.Status)
		}
	} else if m.prov == StatusPendingCreate && !s.hasPending(m.id, fieldProv) {
		s.st.schedule(m.createdAt.Add(s.delays.Member), kindMember, m.id, fieldProv, StatusActive)
	}
	if len(sc.Operating) > 0 {
		s.st.cancel(kindMember, m.id, fieldOp)
		for _, st := range sc.Operating {
			s.st.schedule(m.createdAt.Add(st.After), kindMember, m.id, fieldOp, st.Status)
		}
	}
}

func (s *Server) hasPending(id string, f field) bool {
	for _, t := range s.st.pending {
		if t.id == id && t.field == f {
			return true
		}
	}
	return false
}

// SetMemberStatus overwrites a member's statuses, like an SQL UPDATE on
// Octavia's database: the next GET shows them. An empty string leaves that
// status alone; a status that is set also cancels the member's scheduled
// transitions of that kind, so it sticks.
func (s *Server) SetMemberStatus(memberID, provisioning, operating string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.applyDue(s.clk.Now())
	return s.setStatus(kindMember, memberID, "member", provisioning, operating)
}

// SetLoadBalancerStatus overwrites a load balancer's statuses the same way
// SetMemberStatus does; pending transitions of its children are untouched.
func (s *Server) SetLoadBalancerStatus(lbID, provisioning, operating string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.applyDue(s.clk.Now())
	return s.setStatus(kindLB, lbID, "load balancer", provisioning, operating)
}

func (s *Server) setStatus(k kind, id, what, prov, op string) error {
	b := s.st.object(k, id)
	if b == nil {
		return fmt.Errorf("octaviatest: %s %s not found", what, id)
	}
	if prov != "" {
		s.st.cancel(k, id, fieldProv)
		b.prov = prov
	}
	if op != "" {
		s.st.cancel(k, id, fieldOp)
		b.op = op
	}
	return nil
}
