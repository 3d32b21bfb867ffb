package memberwait

import (
	"context"
	"fmt"
	"net/http"
	"sort"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/monitors"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	"k8s.io/utils/clock"
)

// Source observes a load balancer: its status and its members' statuses.
// A 404 for the load balancer is not an error: the snapshot says Found=false.
// Errors are Octavia's (see [Retryable]) or the context's.
type Source interface {
	Observe(ctx context.Context, req Request) (*Snapshot, error)
}

// Request says what an observation must cover.
type Request struct {
	LoadBalancerID string
	// PoolIDs are the pools whose members are wanted; empty means every
	// pool. Sources that read the whole status tree ignore it.
	PoolIDs []string
	// LoadBalancerStatus asks for the load balancer's own status. Sources
	// that read the status tree always include it; pool-list sources read
	// it only when asked, or when they must list the pools.
	LoadBalancerStatus bool
	// HealthMonitors asks for the pools' monitor parameters
	// (PoolStatus.HealthMonitor) and the load balancer's provider, which
	// [SettleAuto] derives the settle window from. The sources of this
	// package read each monitor and provider once and keep them (see
	// docs/memberwait.md for the cost); other sources may ignore it.
	HealthMonitors bool
}

// StatusTree observes through GET /v2/lbaas/loadbalancers/{id}/status: the
// load balancer, its listeners, their pools with monitor presence and the
// members with both statuses, in one request whatever their number. Pools
// that hang under no listener do not appear in the tree; use [PoolMembers]
// for them.
func StatusTree(client *gophercloud.ServiceClient) Source {
	return statusTree{client: client, clock: clock.RealClock{}, cache: newMonitorCache()}
}

type statusTree struct {
	client *gophercloud.ServiceClient
	clock  clock.PassiveClock
	cache  *monitorCache
}

// The status tree, decoded by hand: gophercloud's StatusTree reuses the
// Pool type, whose monitor key ("healthmonitor") is not the tree's
// ("health_monitor").
type treeBody struct {
	Statuses struct {
		LoadBalancer *struct {
			ID                 string `json:"id"`
			ProvisioningStatus string `json:"provisioning_status"`
			OperatingStatus    string `json:"operating_status"`
			Listeners          []struct {
				Pools []struct {
					ID                 string `json:"id"`
					Name               string `json:"name"`
					ProvisioningStatus string `json:"provisioning_status"`
					OperatingStatus    string `json:"operating_status"`
					HealthMonitor      *struct {
						ID                 string `json:"id"`
						ProvisioningStatus string `json:"provisioning_status"`
					} `json:"health_monitor"`
					Members []struct {
						ID                 string `json:"id"`
						Name               string `json:"name"`
						Address            string `json:"address"`
						ProtocolPort       int    `json:"protocol_port"`
						ProvisioningStatus string `json:"provisioning_status"`
						OperatingStatus    string `json:"operating_status"`
					} `json:"members"`
				} `json:"pools"`
			} `json:"listeners"`
		} `json:"loadbalancer"`
	} `json:"statuses"`
}

func (t statusTree) Observe(ctx context.Context, req Request) (*Snapshot, error) {
	s := &Snapshot{LoadBalancerID: req.LoadBalancerID, SentAt: t.clock.Now(), Requests: 1, Complete: true}
	r := loadbalancers.GetStatuses(ctx, t.client, req.LoadBalancerID)
	s.ReceivedAt = t.clock.Now()
	if r.Err != nil {
		if gophercloud.ResponseCodeIs(r.Err, http.StatusNotFound) {
			return s, nil
		}
		return nil, r.Err
	}
	var body treeBody
	if err := r.ExtractInto(&body); err != nil {
		return nil, fmt.Errorf("decoding the status tree of load balancer %s: %w", req.LoadBalancerID, err)
	}
	lb := body.Statuses.LoadBalancer
	if lb == nil {
		return nil, fmt.Errorf("decoding the status tree of load balancer %s: no \"statuses.loadbalancer\" in the answer", req.LoadBalancerID)
	}
	s.Found = true
	s.ProvisioningStatus, s.OperatingStatus = lb.ProvisioningStatus, lb.OperatingStatus
	seen := map[string]bool{}
	monitorOf, pending := map[string]string{}, map[string]bool{}
	for _, l := range lb.Listeners {
		for _, p := range l.Pools {
			if seen[p.ID] {
				continue // a pool can be the default pool of several listeners
			}
			seen[p.ID] = true
			ps := PoolStatus{ID: p.ID, Name: p.Name, ProvisioningStatus: p.ProvisioningStatus, OperatingStatus: p.OperatingStatus, Monitor: MonitorAbsent}
			if p.HealthMonitor != nil {
				ps.Monitor = MonitorPresent
				monitorOf[p.ID] = p.HealthMonitor.ID
				pending[p.HealthMonitor.ID] = IsPending(p.HealthMonitor.ProvisioningStatus)
			}
			for _, m := range p.Members {
				ps.Members = append(ps.Members, MemberStatus(m))
			}
			s.Pools = append(s.Pools, ps)
		}
	}
	if req.HealthMonitors {
		if err := t.treeMonitors(ctx, s, monitorOf, pending); err != nil {
			return nil, err
		}
		s.ReceivedAt = t.clock.Now()
	}
	return s, nil
}

// LbClient is the part of CAPO's clients.LbClient (v0.11 to v0.13) that
// memberwait needs. CAPO's client satisfies it as it is; nothing of CAPO is
// imported.
type LbClient interface {
	GetLoadBalancer(id string) (*loadbalancers.LoadBalancer, error)
	ListPoolMember(poolID string, opts pools.ListMembersOptsBuilder) ([]pools.Member, error)
}

// FromLbClient observes through a CAPO-style client: one member list per
// pool of interest, plus the load balancer itself only when a member is
// otherwise done or the pools must be discovered. CAPO's methods take no
// context, so cancellation takes effect between requests.
//
// It makes exactly the requests upstream CAPO's member code makes, so its
// monitors stay unknown and [SettleAuto] falls back to
// DefaultSettleWindow; [FromLbClientWithMonitors] reads them.
func FromLbClient(c LbClient) Source {
	return fromLbClient(c, nil)
}

// LbClientWithMonitors is an [LbClient] that also lists health monitors,
// as CAPO's clients.LbClient does.
type LbClientWithMonitors interface {
	LbClient
	ListMonitors(opts monitors.ListOptsBuilder) ([]monitors.Monitor, error)
}

// FromLbClientWithMonitors is [FromLbClient] that, for
// [Request.HealthMonitors], lists each pool's monitor once (cached as the
// status-tree source caches them), so that [SettleAuto] follows it.
func FromLbClientWithMonitors(c LbClientWithMonitors) Source {
	return fromLbClient(c, func(_ context.Context, pool string) ([]HealthMonitor, error) {
		ms, err := c.ListMonitors(monitors.ListOpts{PoolID: pool})
		return fromGophercloud(ms), err
	})
}

func fromLbClient(c LbClient, list func(context.Context, string) ([]HealthMonitor, error)) Source {
	return poolMembers{
		clock:        clock.RealClock{},
		cache:        newMonitorCache(),
		listMonitors: list,
		getLB:        func(_ context.Context, id string) (*loadbalancers.LoadBalancer, error) { return c.GetLoadBalancer(id) },
		list: func(_ context.Context, pool string) ([]pools.Member, error) {
			return c.ListPoolMember(pool, pools.ListMembersOpts{})
		},
	}
}

// PoolMembers observes like [FromLbClient], through a gophercloud client:
// GET /v2/lbaas/pools/{id}/members per pool of interest. The status tree is
// cheaper as soon as there is more than one pool; this source exists for
// pools that hang under no listener and to measure the difference.
func PoolMembers(client *gophercloud.ServiceClient) Source {
	return poolMembers{
		clock: clock.RealClock{},
		cache: newMonitorCache(),
		listMonitors: func(ctx context.Context, pool string) ([]HealthMonitor, error) {
			pages, err := monitors.List(client, monitors.ListOpts{PoolID: pool}).AllPages(ctx)
			if err != nil {
				return nil, err
			}
			ms, err := monitors.ExtractMonitors(pages)
			return fromGophercloud(ms), err
		},
		getLB: func(ctx context.Context, id string) (*loadbalancers.LoadBalancer, error) {
			return loadbalancers.Get(ctx, client, id).Extract()
		},
		list: func(ctx context.Context, pool string) ([]pools.Member, error) {
			pages, err := pools.ListMembers(client, pool, pools.ListMembersOpts{}).AllPages(ctx)
			if err != nil {
				return nil, err
			}
			return pools.ExtractMembers(pages)
		},
	}
}

// WithClock returns a copy of a source from this package whose snapshots
// are stamped by clk. Other sources are returned unchanged.
func WithClock(src Source, clk clock.PassiveClock) Source {
	switch s := src.(type) {
	case statusTree:
		s.clock = clk
		return s
	case poolMembers:
		s.clock = clk
		return s
	}
	return src
}

type poolMembers struct {
	clock        clock.PassiveClock
	cache        *monitorCache
	getLB        func(ctx context.Context, id string) (*loadbalancers.LoadBalancer, error)
	list         func(ctx context.Context, pool string) ([]pools.Member, error)
	listMonitors func(ctx context.Context, pool string) ([]HealthMonitor, error)
}

func (p poolMembers) Observe(ctx context.Context, req Request) (*Snapshot, error) {
	s := &Snapshot{LoadBalancerID: req.LoadBalancerID, SentAt: p.clock.Now(), Found: true}
	poolIDs := req.PoolIDs
	provider, known := p.cache.provider(req.LoadBalancerID)
	if req.LoadBalancerStatus || len(poolIDs) == 0 || (req.HealthMonitors && !known) {
		s.Requests++
		lb, err := p.getLB(ctx, req.LoadBalancerID)
		if err != nil {
			s.ReceivedAt = p.clock.Now()
			if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
				s.Found = false
				return s, nil
			}
			return nil, err
		}
		if lb == nil {
			// A 200 without a load balancer (a proxy's "{}"): garbage, so
			// retryable like any answer that does not decode.
			return nil, fmt.Errorf("reading load balancer %s: the answer holds no load balancer", req.LoadBalancerID)
		}
		s.ProvisioningStatus, s.OperatingStatus = lb.ProvisioningStatus, lb.OperatingStatus
		provider = lb.Provider
		p.cache.setProvider(req.LoadBalancerID, provider)
		if len(poolIDs) == 0 {
			for _, pl := range lb.Pools {
				poolIDs = append(poolIDs, pl.ID)
			}
			s.Complete = true
		}
	}
	for _, id := range dedupe(poolIDs) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s.Requests++
		members, err := p.list(ctx, id)
		if err != nil {
			if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
				continue // the pool is gone, and its members with it
			}
			return nil, err
		}
		ps := PoolStatus{ID: id}
		for _, m := range members {
			ps.Members = append(ps.Members, MemberStatus{ID: m.ID, Name: m.Name, Address: m.Address, ProtocolPort: m.ProtocolPort,
				ProvisioningStatus: m.ProvisioningStatus, OperatingStatus: m.OperatingStatus})
		}
		s.Pools = append(s.Pools, ps)
	}
	if req.HealthMonitors {
		s.Provider = provider
		if err := p.poolMonitors(ctx, s); err != nil {
			return nil, err
		}
	}
	s.ReceivedAt = p.clock.Now()
	return s, nil
}

func dedupe(ids []string) []string {
	out := append([]string(nil), ids...)
	sort.Strings(out)
	j := 0
	for i, id := range out {
		if i == 0 || id != out[j-1] {
			out[j] = id
			j++
		}
	}
	return out[:j]
}
