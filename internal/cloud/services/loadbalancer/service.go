// Package loadbalancer is Octavia as membergate's reconcilers read it: a
// load balancer's status tree, which the gate judges its members on, and
// its members' topology — subnets, ports, monitor ports, and for OVN the
// listeners — which the security-group reconciler plans rules from.
package loadbalancer

import (
	"context"
	"fmt"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/membergate/membergate/pkg/memberwait"
)

// Clients are what a Service reads Octavia with; a reconciler sets those of
// the reads it makes.
type Clients struct {
	// StatusTree serves ObserveStatusTree: the gate's memberwait source,
	// under its cloud's request budget.
	StatusTree memberwait.Source
	// Octavia serves GetTopology.
	Octavia *gophercloud.ServiceClient
	// Key names the identity and endpoints Octavia is read through
	// (scope.NetworkClients.Key): the topology cache is keyed by it, so
	// that a load balancer ID another tenant's Octavia answered for never
	// serves this one.
	Key string
}

// Service is one cloud's Octavia for one reconcile.
type Service struct {
	clients Clients
	cache   *Cache
}

// NewService returns the Octavia of clients. cache keeps topologies across
// reconciles; nil keeps none.
func NewService(clients Clients, cache *Cache) *Service {
	if cache == nil {
		cache = &Cache{}
	}
	return &Service{clients: clients, cache: cache}
}

// ObserveStatusTree reads the load balancer's status tree once. A load
// balancer Octavia does not know is an error, returned with the snapshot
// that says so.
func (s *Service) ObserveStatusTree(ctx context.Context, lbID string) (*memberwait.Snapshot, error) {
	snap, err := s.clients.StatusTree.Observe(ctx, memberwait.Request{LoadBalancerID: lbID, LoadBalancerStatus: true})
	if err != nil {
		return nil, err
	}
	if !snap.Found {
		return snap, fmt.Errorf("load balancer %s not found", lbID)
	}
	return snap, nil
}
