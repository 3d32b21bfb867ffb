package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	"github.com/membergate/membergate/pkg/memberwait"
	"k8s.io/utils/clock"
)

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// looksLikeUUID reports whether s has the shape of an OpenStack ID.
func looksLikeUUID(s string) bool { return uuidRE.MatchString(s) }

// parseMemberSelector reads a --member value: a UUID is an ID, something
// that parses as an IP address (optionally with a port) is an address, and
// anything else is a name. Addresses are written canonically, for the
// messages; Octavia stores an address in the spelling it was submitted in,
// so memberwait matches them as addresses (memberwait.SameAddress) and
// 2001:db8::1 finds a member created as 2001:db8:0::01.
func parseMemberSelector(s string) (memberwait.Member, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return memberwait.Member{}, errors.New("empty selector")
	case looksLikeUUID(s):
		return memberwait.Member{ID: strings.ToLower(s)}, nil
	}
	bare := s
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		bare = s[1 : len(s)-1]
	}
	if a, err := netip.ParseAddr(bare); err == nil {
		return memberwait.Member{Address: a.String()}, nil
	}
	if host, port, err := net.SplitHostPort(s); err == nil {
		a, aerr := netip.ParseAddr(host)
		switch {
		case aerr == nil:
			p, perr := strconv.Atoi(port)
			if perr != nil || p < 1 || p > 65535 {
				return memberwait.Member{}, fmt.Errorf("port %q: want 1-65535", port)
			}
			return memberwait.Member{Address: a.String(), ProtocolPort: p}, nil
		case strings.HasPrefix(s, "["):
			return memberwait.Member{}, fmt.Errorf("%q is not an IPv6 address", host)
		}
	}
	if strings.HasPrefix(s, "[") {
		return memberwait.Member{}, errors.New("want [IPv6]:PORT")
	}
	return memberwait.Member{Name: s}, nil
}

// lookupRetries bounds the retries of the lookups made before the wait
// starts: a 503 from a proxy at that moment should not fail a script that
// would ride it out a second later.
const lookupRetries = 4

// retrying runs f until it succeeds, fails in a way retrying cannot fix, or
// has been tried lookupRetries times, sleeping 1 s, 2 s, 4 s between tries.
func retrying[T any](ctx context.Context, clk clock.Clock, f func() (T, error)) (T, error) {
	delay := time.Second
	for attempt := 1; ; attempt++ {
		v, err := f()
		if err == nil || attempt == lookupRetries || !memberwait.Retryable(err) {
			return v, err
		}
		t := clk.NewTimer(delay)
		select {
		case <-t.C():
		case <-ctx.Done():
			t.Stop()
			return v, ctx.Err()
		}
		delay *= 2
	}
}

// findLoadBalancer resolves --loadbalancer: an ID if it has the shape of one
// and exists, else a name that must match exactly one load balancer.
func findLoadBalancer(ctx context.Context, clk clock.Clock, sc *gophercloud.ServiceClient, sel string) (*loadbalancers.LoadBalancer, error) {
	if looksLikeUUID(sel) {
		lb, err := retrying(ctx, clk, func() (*loadbalancers.LoadBalancer, error) {
			return loadbalancers.Get(ctx, sc, sel).Extract()
		})
		if err == nil {
			return lb, nil
		}
		if !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			return nil, fmt.Errorf("looking up load balancer %s: %w", sel, err)
		}
		// Fall through: a name may look like an ID.
	}
	lbs, err := retrying(ctx, clk, func() ([]loadbalancers.LoadBalancer, error) {
		pages, err := loadbalancers.List(sc, loadbalancers.ListOpts{Name: sel}).AllPages(ctx)
		if err != nil {
			return nil, err
		}
		return loadbalancers.ExtractLoadBalancers(pages)
	})
	if err != nil {
		return nil, fmt.Errorf("looking up load balancer %q: %w", sel, err)
	}
	var found []loadbalancers.LoadBalancer
	for _, lb := range lbs {
		if lb.Name == sel { // the filter is the server's; make sure
			found = append(found, lb)
		}
	}
	switch len(found) {
	case 1:
		return &found[0], nil
	case 0:
		return nil, &lookupError{kind: "load balancer", selector: sel}
	}
	return nil, &lookupError{kind: "load balancer", selector: sel, matches: ids(found, func(lb loadbalancers.LoadBalancer) string { return lb.ID })}
}

// findPool resolves --pool within the load balancer. An ID is taken as
// given: memberwait reports a pool that does not exist.
func findPool(ctx context.Context, clk clock.Clock, sc *gophercloud.ServiceClient, lbID, sel string) (string, error) {
	if looksLikeUUID(sel) {
		return strings.ToLower(sel), nil
	}
	ps, err := retrying(ctx, clk, func() ([]pools.Pool, error) {
		pages, err := pools.List(sc, pools.ListOpts{LoadbalancerID: lbID, Name: sel}).AllPages(ctx)
		if err != nil {
			return nil, err
		}
		return pools.ExtractPools(pages)
	})
	if err != nil {
		return "", fmt.Errorf("looking up pool %q: %w", sel, err)
	}
	var found []pools.Pool
	for _, p := range ps {
		if p.Name == sel && belongsTo(p, lbID) {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 1:
		return found[0].ID, nil
	case 0:
		return "", &lookupError{kind: "pool", selector: sel + " in load balancer " + lbID}
	}
	return "", &lookupError{kind: "pool", selector: sel, matches: ids(found, func(p pools.Pool) string { return p.ID })}
}

func belongsTo(p pools.Pool, lbID string) bool {
	if len(p.Loadbalancers) == 0 {
		return true // the server filtered on loadbalancer_id already
	}
	for _, ref := range p.Loadbalancers {
		if ref.ID == lbID {
			return true
		}
	}
	return false
}

func ids[T any](xs []T, id func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = id(x)
	}
	return out
}

// allMembers lists the members of the load balancer (of one pool, if
// poolID is set) from one observation, for --all.
func allMembers(ctx context.Context, clk clock.Clock, src memberwait.Source, lbID, poolID string) ([]memberwait.Member, error) {
	req := memberwait.Request{LoadBalancerID: lbID, LoadBalancerStatus: true}
	if poolID != "" {
		req.PoolIDs = []string{poolID}
	}
	snap, err := retrying(ctx, clk, func() (*memberwait.Snapshot, error) { return src.Observe(ctx, req) })
	if err != nil {
		return nil, fmt.Errorf("listing the members of load balancer %s: %w", lbID, err)
	}
	if !snap.Found {
		return nil, &memberwait.NotFoundError{Kind: "load balancer", LoadBalancerID: lbID}
	}
	var members []memberwait.Member
	poolSeen := false
	for _, p := range snap.Pools {
		if poolID != "" && p.ID != poolID {
			continue
		}
		poolSeen = true
		for _, m := range p.Members {
			members = append(members, memberwait.Member{PoolID: p.ID, ID: m.ID})
		}
	}
	if poolID != "" && !poolSeen {
		return nil, &memberwait.NotFoundError{Kind: "pool", LoadBalancerID: lbID, Member: memberwait.Member{PoolID: poolID}}
	}
	return members, nil
}
