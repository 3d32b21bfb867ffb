package loadbalancer

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/listeners"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
)

// TopologyTTL bounds how long what Octavia said about a load balancer's
// members (subnets, ports, monitor ports) and listeners is trusted by
// default. It is read again at once when the caller's key changes (the
// security-group pass's: the members the gate's status tree shows, the
// allowed CIDRs CAPO applied); the TTL catches the rest (a monitor_port
// changed by hand).
const TopologyTTL = 10 * time.Minute

// MaxTopologyAge is the longest a caller may trust a topology (see
// GetTopology's maxAge): older ones are dropped from the cache.
const MaxTopologyAge = 2 * time.Hour

// Topology is what the security-group pass needs of a load balancer beyond
// the status tree: where it reaches each member from and on which ports.
type Topology struct {
	Provider, VIPSubnetID string
	Members               []Member
	// Listeners are read for OVN only, whose clients keep their address.
	Listeners []Listener

	key  string // the members it was read for
	lbID string
	at   time.Time
}

// Member is a member as the topology has it.
type Member struct {
	ID, SubnetID              string
	ProtocolPort, MonitorPort int
}

// SourceSubnet is the subnet the load balancer reaches the member from:
// its own, or the VIP's when it has none.
func (m Member) SourceSubnet(vipSubnet string) string {
	if m.SubnetID != "" {
		return m.SubnetID
	}
	return vipSubnet
}

// Listener is a listener as the topology has it.
type Listener struct {
	ID, Name     string
	Port         int
	AllowedCIDRs []string
}

// IsOVN reports whether the OVN provider serves the load balancer: health
// checks then come from the provider's port in the member subnet, and
// client traffic keeps its source address.
func (t *Topology) IsOVN() bool { return strings.EqualFold(t.Provider, "ovn") }

// Member returns a member by ID.
func (t *Topology) Member(id string) (Member, bool) {
	for _, m := range t.Members {
		if m.ID == id {
			return m, true
		}
	}
	return Member{}, false
}

// Cache keeps the topology of each load balancer across reconciles, by
// the clients' key and the load balancer's ID.
type Cache struct {
	mu sync.Mutex
	m  map[string]*Topology
}

// Forget drops what is kept of a load balancer, whoever read it.
func (c *Cache) Forget(lbID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, t := range c.m {
		if t.lbID == lbID {
			delete(c.m, k)
		}
	}
}

// GetTopology returns the load balancer's topology, read again when the
// members changed (membersKey names what it was read for: the members
// seen and whatever else the caller knows changes it; "" when unknown) or
// it is older than maxAge (zero means TopologyTTL; at most
// MaxTopologyAge): 1 + pools (+ 1 with OVN) Octavia requests, else none.
func (s *Service) GetTopology(ctx context.Context, lbID, membersKey string, now time.Time, maxAge time.Duration) (*Topology, error) {
	if maxAge <= 0 {
		maxAge = TopologyTTL
	}
	maxAge = min(maxAge, MaxTopologyAge)
	c := s.cache
	key := s.clients.Key + " " + lbID
	c.mu.Lock()
	t := c.m[key]
	c.mu.Unlock()
	if t != nil && (membersKey == "" || t.key == membersKey) && now.Sub(t.at) < maxAge {
		return t, nil
	}
	t, err := s.readTopology(ctx, lbID)
	if err != nil {
		return nil, err
	}
	t.key, t.at, t.lbID = membersKey, now, lbID
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]*Topology{}
	}
	// Expired entries go as new ones come: the load balancers of deleted
	// clusters and identities leave nothing behind.
	for k, old := range c.m {
		if now.Sub(old.at) >= MaxTopologyAge {
			delete(c.m, k)
		}
	}
	c.m[key] = t
	c.mu.Unlock()
	return t, nil
}

func (s *Service) readTopology(ctx context.Context, lbID string) (*Topology, error) {
	octavia := s.clients.Octavia
	lb, err := loadbalancers.Get(ctx, octavia, lbID).Extract()
	if err != nil {
		return nil, fmt.Errorf("reading load balancer %s: %w", lbID, err)
	}
	t := &Topology{Provider: lb.Provider, VIPSubnetID: lb.VipSubnetID}
	for _, ref := range lb.Pools {
		pages, err := pools.ListMembers(octavia, ref.ID, nil).AllPages(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing the members of pool %s: %w", ref.ID, err)
		}
		members, err := pools.ExtractMembers(pages)
		if err != nil {
			return nil, err
		}
		for _, m := range members {
			t.Members = append(t.Members, Member{ID: m.ID, SubnetID: m.SubnetID, ProtocolPort: m.ProtocolPort, MonitorPort: m.MonitorPort})
		}
	}
	if t.IsOVN() {
		pages, err := listeners.List(octavia, query{"loadbalancer_id": {lbID}}).AllPages(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing the listeners of load balancer %s: %w", lbID, err)
		}
		ls, err := listeners.ExtractListeners(pages)
		if err != nil {
			return nil, err
		}
		for _, l := range ls {
			t.Listeners = append(t.Listeners, Listener{ID: l.ID, Name: l.Name, Port: l.ProtocolPort, AllowedCIDRs: l.AllowedCIDRs})
		}
	}
	return t, nil
}

// query is a list query as url.Values, which Octavia reads as is.
type query url.Values

func (q query) ToListenerListQuery() (string, error) { return "?" + url.Values(q).Encode(), nil }
