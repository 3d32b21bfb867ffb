package main

import (
	"context"
	"net/http"
	"sync/atomic"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/membergate/membergate/internal/openstackauth"
)

// loadBalancerClient authenticates as the flags and the environment say and
// counts the requests the client sends from then on.
func (c *cli) loadBalancerClient(ctx context.Context, cfg *waitConfig) (*gophercloud.ServiceClient, *requestCounter, error) {
	sc, err := openstackauth.NewLoadBalancerClient(ctx, openstackauth.Options{
		Cloud:            cfg.osCloud,
		CloudsFile:       cfg.osConfigFile,
		EndpointOverride: cfg.endpoint,
		UserAgent:        userAgent(),
	})
	if err != nil {
		return nil, nil, err
	}
	return sc, countRequests(sc), nil
}

// requestCounter counts the HTTP requests of a client: the "requests" of the
// report, which shows that a wait costs one request per poll.
type requestCounter struct {
	base http.RoundTripper
	n    atomic.Int64
}

func countRequests(sc *gophercloud.ServiceClient) *requestCounter {
	rc := &requestCounter{base: sc.HTTPClient.Transport}
	if rc.base == nil {
		rc.base = http.DefaultTransport
	}
	sc.HTTPClient.Transport = rc
	return rc
}

// RoundTrip counts and forwards a request.
func (rc *requestCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	rc.n.Add(1)
	return rc.base.RoundTrip(r)
}

func (rc *requestCounter) count() int {
	if rc == nil {
		return 0
	}
	return int(rc.n.Load())
}
