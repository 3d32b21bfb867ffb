package controllers

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/listeners"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"

	"github.com/membergate/membergate/pkg/memberwait"
)

// TopologyTTL bounds how long what Octavia said about a load balancer's
// members (subnets, ports, monitor ports) and listeners is trusted. It is
// read again at once when the gate's status tree shows members come or go;
// the TTL catches the rest (a monitor_port or allowed_cidrs changed).
const TopologyTTL = 10 * time.Minute

// topology is what the pass needs of a load balancer beyond the status
// tree: where it reaches each member from and on which ports.
type topology struct {
	Provider, VIPSubnetID string
	Members               []topoMember
	// Listeners are read for OVN only, whose clients keep their address.
	Listeners []topoListener

	key string
	at  time.Time
}

type topoMember struct {
	ID, SubnetID              string
	ProtocolPort, MonitorPort int
}

// SourceSubnet is the subnet the load balancer reaches the member from:
// its own, or the VIP's when it has none.
func (m topoMember) SourceSubnet(vipSubnet string) string {
	if m.SubnetID != "" {
		return m.SubnetID
	}
	return vipSubnet
}

type topoListener struct {
	ID, Name     string
	Port         int
	AllowedCIDRs []string
}

// IsOVN reports whether the OVN provider serves the load balancer: health
// checks then come from the provider's port in the member subnet, and
// client traffic keeps its source address.
func (t *topology) IsOVN() bool { return strings.EqualFold(t.Provider, "ovn") }

// member returns a member by ID.
func (t *topology) member(id string) (topoMember, bool) {
	for _, m := range t.Members {
		if m.ID == id {
			return m, true
		}
	}
	return topoMember{}, false
}

// topologies caches topology per load balancer.
type topologies struct {
	mu sync.Mutex
	m  map[string]*topology
}

// membersKey names the set of members the status tree shows.
func membersKey(snap *memberwait.Snapshot) string {
	if snap == nil || !snap.Found {
		return ""
	}
	var ids []string
	for _, p := range snap.Pools {
		for _, m := range p.Members {
			ids = append(ids, p.ID+"/"+m.ID)
		}
	}
	slices.Sort(ids)
	return strings.Join(ids, ",")
}

// get returns the load balancer's topology, read again when the members
// changed (key) or it is older than TopologyTTL: 1 + pools (+ 1 with OVN)
// Octavia requests, else none.
func (c *topologies) get(ctx context.Context, nc *NetworkClients, lbID, key string, now time.Time) (*topology, error) {
	c.mu.Lock()
	t := c.m[lbID]
	c.mu.Unlock()
	if t != nil && (key == "" || t.key == key) && now.Sub(t.at) < TopologyTTL {
		return t, nil
	}
	t, err := readTopology(ctx, nc, lbID)
	if err != nil {
		return nil, err
	}
	t.key, t.at = key, now
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]*topology{}
	}
	c.m[lbID] = t
	c.mu.Unlock()
	return t, nil
}

func readTopology(ctx context.Context, nc *NetworkClients, lbID string) (*topology, error) {
	lb, err := loadbalancers.Get(ctx, nc.LoadBalancer, lbID).Extract()
	if err != nil {
		return nil, fmt.Errorf("reading load balancer %s: %w", lbID, err)
	}
	t := &topology{Provider: lb.Provider, VIPSubnetID: lb.VipSubnetID}
	for _, ref := range lb.Pools {
		pages, err := pools.ListMembers(nc.LoadBalancer, ref.ID, nil).AllPages(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing the members of pool %s: %w", ref.ID, err)
		}
		members, err := pools.ExtractMembers(pages)
		if err != nil {
			return nil, err
		}
		for _, m := range members {
			t.Members = append(t.Members, topoMember{ID: m.ID, SubnetID: m.SubnetID, ProtocolPort: m.ProtocolPort, MonitorPort: m.MonitorPort})
		}
	}
	if t.IsOVN() {
		pages, err := listeners.List(nc.LoadBalancer, query{"loadbalancer_id": {lbID}}).AllPages(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing the listeners of load balancer %s: %w", lbID, err)
		}
		ls, err := listeners.ExtractListeners(pages)
		if err != nil {
			return nil, err
		}
		for _, l := range ls {
			t.Listeners = append(t.Listeners, topoListener{ID: l.ID, Name: l.Name, Port: l.ProtocolPort, AllowedCIDRs: l.AllowedCIDRs})
		}
	}
	return t, nil
}

// query is a list query with repeated keys, which gophercloud's ListOpts
// cannot say: Neutron and Octavia read ?id=a&id=b as "a or b", so one
// request covers every port or group of a cluster.
type query url.Values

func (q query) encode() (string, error)              { return "?" + url.Values(q).Encode(), nil }
func (q query) ToPortListQuery() (string, error)     { return q.encode() }
func (q query) ToSecGroupListQuery() (string, error) { return q.encode() }
func (q query) ToListenerListQuery() (string, error) { return q.encode() }
