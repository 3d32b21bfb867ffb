package controllers

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/membergate/membergate/internal/openstackauth"
)

// NetworkClients are what the security-group pass and the member diagnosis
// use: Octavia, for the members' subnets and ports, and Neutron. Every
// request takes one token of the cloud's request budget — the one the
// gate's observations share — and fails at once with [ErrBudgetSpent] when
// none is left, so a pass never waits.
type NetworkClients struct {
	LoadBalancer, Network *gophercloud.ServiceClient
	// Cloud names the cloud (its Octavia endpoint), for caches that all
	// its clusters share.
	Cloud string
}

// NetworkFactory returns the clients of an identity.
type NetworkFactory interface {
	Network(ctx context.Context, id Identity) (*NetworkClients, error)
}

// Network implements NetworkFactory from the same identity Secret as
// Source, with the same per-cloud budget. The clients are kept while the
// Secret is unchanged. Neutron's endpoint comes from Keystone's catalog, or
// the cloud's network_endpoint_override.
func (s *SecretSources) Network(ctx context.Context, id Identity) (*NetworkClients, error) {
	rv, opts, err := s.options(ctx, id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cachedLocked(id, rv)
	if c.network != nil {
		return c.network, nil
	}
	bt := &budgetTransport{}
	opts.WrapTransport = func(next http.RoundTripper) http.RoundTripper {
		bt.next = countAPIRequests(next)
		return bt
	}
	cs, err := openstackauth.NewClients(ctx, opts)
	if err != nil {
		return nil, err
	}
	// Authentication went unbudgeted (the endpoint, hence the budget, is
	// known only after it); every request from here on is counted.
	bt.lim.Store(s.limiterLocked(cs.LoadBalancer.ResourceBase))
	c.network = &NetworkClients{LoadBalancer: cs.LoadBalancer, Network: cs.Network, Cloud: cs.LoadBalancer.ResourceBase}
	return c.network, nil
}

// budgetTransport takes a token of the cloud's budget per request, never
// waiting for one.
type budgetTransport struct {
	next http.RoundTripper
	lim  atomic.Pointer[rate.Limiter]
}

func (b *budgetTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if lim := b.lim.Load(); lim != nil && !lim.Allow() {
		return nil, ErrBudgetSpent
	}
	return b.next.RoundTrip(r)
}

var neutronRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "membergate_neutron_requests_total",
	Help: "Requests to Neutron by operation and HTTP status code; code is \"error\" when no answer came.",
}, []string{"operation", "code"})

// countAPIRequests counts Neutron's requests by collection, and the rest
// (Octavia, Keystone) as countRequests does.
func countAPIRequests(next http.RoundTripper) http.RoundTripper {
	octavia := countRequests(next)
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		_, rest, ok := strings.Cut(r.URL.Path, "/v2.0/")
		if !ok {
			return octavia.RoundTrip(r)
		}
		resp, err := next.RoundTrip(r)
		collection, _, _ := strings.Cut(rest, "/")
		neutronRequests.WithLabelValues(strings.ToLower(r.Method)+" "+strings.TrimSuffix(collection, ".json"), responseCode(resp, err)).Inc()
		return resp, err
	})
}
