package octaviatest

import (
	"encoding/json"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
)

// Inspection reads the emulator's state as a client would decode it, after
// applying due transitions, without sending or counting a request.

// Member returns a member as GET .../members/{id} would show it.
func (s *Server) Member(id string) (pools.Member, bool) {
	var out pools.Member
	s.mu.Lock()
	s.st.applyDue(s.clk.Now())
	m := s.st.members[id]
	var v memberJSON
	if m != nil {
		v = s.st.renderMember(m)
	}
	s.mu.Unlock()
	return out, m != nil && decodeInto(v, &out)
}

// LoadBalancer returns a load balancer as GET .../loadbalancers/{id} would show it.
func (s *Server) LoadBalancer(id string) (loadbalancers.LoadBalancer, bool) {
	var out loadbalancers.LoadBalancer
	s.mu.Lock()
	s.st.applyDue(s.clk.Now())
	lb := s.st.lbs[id]
	var v lbJSON
	if lb != nil {
		v = s.st.renderLB(lb)
	}
	s.mu.Unlock()
	return out, lb != nil && decodeInto(v, &out)
}

// Pool returns a pool as GET .../pools/{id} would show it.
func (s *Server) Pool(id string) (pools.Pool, bool) {
	var out pools.Pool
	s.mu.Lock()
	s.st.applyDue(s.clk.Now())
	p := s.st.pools[id]
	var v poolJSON
	if p != nil {
		v = s.st.renderPool(p)
	}
	s.mu.Unlock()
	return out, p != nil && decodeInto(v, &out)
}

func decodeInto(v, out any) bool {
	b, err := json.Marshal(v)
	return err == nil && json.Unmarshal(b, out) == nil
}
