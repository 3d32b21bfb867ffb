package securitygroup

import (
	"context"
	"sync"
	"time"

	"github.com/membergate/membergate/internal/cloud/scope"
	"github.com/membergate/membergate/internal/cloud/services/loadbalancer"
	"github.com/membergate/membergate/internal/cloud/services/networking"
)

// caches keep what Octavia and Neutron say across reconciles (see the
// services' caches) and what the last pass of each cluster saw.
type caches struct {
	topologies loadbalancer.Cache
	neutron    networking.Cache
	mu         sync.Mutex
	inputs     map[string]string // cluster → what the last pass saw
	// heldUntil is, by cluster, when OpenStack's Retry-After lets its next
	// pass ask again. Kept in memory only: after a restart the first pass
	// asks, and a cloud still overloaded says so again.
	heldUntil map[string]time.Time
}

// hold keeps the cluster's passes off OpenStack until until.
func (c *caches) hold(cluster string, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.heldUntil == nil {
		c.heldUntil = map[string]time.Time{}
	}
	c.heldUntil[cluster] = until
}

// held is how much longer the cluster's passes must leave OpenStack alone;
// zero when they may ask.
func (c *caches) held(cluster string, now time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	until, ok := c.heldUntil[cluster]
	if !ok || !now.Before(until) {
		delete(c.heldUntil, cluster)
		return 0
	}
	return until.Sub(now)
}

// forget drops what is kept for a cluster whose rules are gone.
func (c *caches) forget(cluster, lbID string) {
	c.neutron.Forget(cluster)
	c.mu.Lock()
	delete(c.inputs, cluster)
	delete(c.heldUntil, cluster)
	c.mu.Unlock()
	c.topologies.Forget(lbID)
}

// topology is the load balancer's topology, through the cache, no older
// than maxAge.
func (c *caches) topology(ctx context.Context, nc *scope.NetworkClients, lbID, key string, now time.Time, maxAge time.Duration) (*loadbalancer.Topology, error) {
	return loadbalancer.NewService(loadbalancer.Clients{Octavia: nc.LoadBalancer, Key: nc.Key}, &c.topologies).GetTopology(ctx, lbID, key, now, maxAge)
}

// view is Neutron as one reconcile of cluster reads it, through the cache,
// narrowed to the identity's project and the cluster's network.
func (c *caches) view(nc *scope.NetworkClients, cluster, networkID string, now time.Time) *networking.Service {
	return networking.NewService(nc.Network, nc.Key, &c.neutron, cluster, now).Within(nc.ProjectID, networkID)
}
