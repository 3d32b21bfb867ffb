package memberwait

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/monitors"
)

// monitorCache remembers the monitors' parameters and the load balancers'
// providers a source has read, so that a wait reads each once: one GET per
// monitor and one per load balancer for the cache's lifetime, which is the
// source's. A source and its copies share one cache.
type monitorCache struct {
	mu        sync.Mutex
	ttl       time.Duration
	monitors  map[string]cachedMonitor
	providers map[string]string
}

// cachedMonitor is a monitor as read at a time; hm nil means the pool has
// none.
type cachedMonitor struct {
	hm *HealthMonitor
	at time.Time
}

func newMonitorCache() *monitorCache {
	return &monitorCache{ttl: DefaultMonitorCacheTTL, monitors: map[string]cachedMonitor{}, providers: map[string]string{}}
}

// get returns the entry under key if it is younger than the cache's TTL.
func (c *monitorCache) get(key string, now time.Time) (*HealthMonitor, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.monitors[key]
	if !ok || now.Sub(e.at) >= c.ttl {
		return nil, false
	}
	return e.hm, true
}

func (c *monitorCache) put(key string, hm *HealthMonitor, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.monitors[key] = cachedMonitor{hm: hm, at: now}
}

func (c *monitorCache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.monitors, key)
}

// provider returns a load balancer's provider, which never changes.
func (c *monitorCache) provider(lbID string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.providers[lbID]
	return p, ok
}

func (c *monitorCache) setProvider(lbID, provider string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.providers[lbID] = provider
}

// monitorBody is a health monitor as GET /v2/lbaas/healthmonitors/{id}
// answers it; gophercloud's Monitor has no updated_at.
type monitorBody struct {
	ID             string `json:"id"`
	Type           string `json:"type"`
	Delay          int    `json:"delay"`
	Timeout        int    `json:"timeout"`
	MaxRetriesDown int    `json:"max_retries_down"`
	CreatedAt      string `json:"created_at"`
	UpdatedAt      string `json:"updated_at"`
}

func (b monitorBody) healthMonitor() *HealthMonitor {
	hm := &HealthMonitor{ID: b.ID, Type: b.Type, Delay: time.Duration(b.Delay) * time.Second,
		Timeout: time.Duration(b.Timeout) * time.Second, MaxRetriesDown: b.MaxRetriesDown}
	for _, s := range []string{b.UpdatedAt, b.CreatedAt} {
		if t, ok := octaviaTime(s); ok {
			hm.UpdatedAt = t
			break
		}
	}
	return hm
}

// octaviaTime parses Octavia's timestamps, which carry no zone and are UTC.
func octaviaTime(s string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02T15:04:05", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// getMonitor reads one monitor; nil, nil when it is gone (404).
func getMonitor(ctx context.Context, client *gophercloud.ServiceClient, id string) (*HealthMonitor, error) {
	var body struct {
		HealthMonitor monitorBody `json:"healthmonitor"`
	}
	if err := monitors.Get(ctx, client, id).ExtractInto(&body); err != nil {
		if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			return nil, nil
		}
		return nil, err
	}
	return body.HealthMonitor.healthMonitor(), nil
}

// treeMonitors fills in the monitors' parameters and the provider of a
// snapshot read from the status tree. A monitor is read when the cache does
// not hold its ID (a new or replaced monitor has a new ID) and again while
// the tree shows it PENDING_*, when a PUT may be changing it; an entry read
// while pending is not kept.
func (t statusTree) treeMonitors(ctx context.Context, s *Snapshot, monitorOf map[string]string, pending map[string]bool) error {
	now := t.clock.Now()
	for i := range s.Pools {
		p := &s.Pools[i]
		id := monitorOf[p.ID]
		if id == "" {
			continue
		}
		if !pending[id] {
			if hm, ok := t.cache.get(id, now); ok {
				p.HealthMonitor = hm
				continue
			}
		}
		s.Requests++
		hm, err := getMonitor(ctx, t.client, id)
		if err != nil {
			return err
		}
		// A monitor deleted since the tree was read (nil) is left unknown:
		// the next tree shows what replaced it.
		p.HealthMonitor = hm
		if pending[id] || hm == nil {
			t.cache.drop(id)
		} else {
			t.cache.put(id, hm, now)
		}
	}
	provider, ok := t.cache.provider(s.LoadBalancerID)
	if !ok {
		s.Requests++
		lb, err := loadbalancers.Get(ctx, t.client, s.LoadBalancerID).Extract()
		if err != nil {
			return err
		}
		provider = lb.Provider
		t.cache.setProvider(s.LoadBalancerID, provider)
	}
	s.Provider = provider
	return nil
}

// poolMonitors fills in the monitors of a snapshot read from pool lists: one
// list of monitors per pool (GET /v2/lbaas/healthmonitors?pool_id=), kept
// for the cache's TTL, since a pool list does not show the monitor's ID.
func (p poolMembers) poolMonitors(ctx context.Context, s *Snapshot) error {
	if p.listMonitors == nil {
		return nil
	}
	now := p.clock.Now()
	for i := range s.Pools {
		ps := &s.Pools[i]
		key := "pool/" + ps.ID
		hm, ok := p.cache.get(key, now)
		if !ok {
			s.Requests++
			hms, err := p.listMonitors(ctx, ps.ID)
			if err != nil {
				return err
			}
			hm = nil
			if len(hms) > 0 {
				hm = &hms[0] // Octavia allows one monitor per pool
			}
			p.cache.put(key, hm, now)
		}
		ps.HealthMonitor = hm
		ps.Monitor = MonitorAbsent
		if hm != nil {
			ps.Monitor = MonitorPresent
		}
	}
	return nil
}

// fromGophercloud converts gophercloud's monitors.
func fromGophercloud(ms []monitors.Monitor) []HealthMonitor {
	out := make([]HealthMonitor, 0, len(ms))
	for _, m := range ms {
		out = append(out, *monitorBody{ID: m.ID, Type: m.Type, Delay: m.Delay, Timeout: m.Timeout, MaxRetriesDown: m.MaxRetriesDown}.healthMonitor())
	}
	return out
}
