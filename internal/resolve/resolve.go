// Package resolve turns what a person types about Octavia objects into what
// memberwait waits on: a load balancer or pool by ID or name into its ID, a
// member selector (ID, name, address, address:port) into a
// memberwait.Selector, and "every member" into the members there are now.
//
// A name must match exactly one object: a wait on the wrong load balancer
// would hold or release a rollout for reasons that have nothing to do with
// it. The lookups are retried a few times on the errors memberwait retries
// (429, 5xx, transport), since they come before a wait that would ride those
// out.
package resolve

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	"github.com/membergate/membergate/pkg/memberwait"
	"k8s.io/utils/clock"
)

// Query is what a wait is about, as given: selectors, not yet IDs.
type Query struct {
	// LoadBalancer is an ID or a name.
	LoadBalancer string
	// Pool, when set, is an ID or a name within the load balancer; the
	// members are looked for in it only.
	Pool string
	// Members are the selectors to wait on (see ParseMember); ignored with
	// All.
	Members []memberwait.Selector
	// All selects every member of the load balancer (of Pool) there is now.
	All bool
	// NoneOK makes an All that finds no member a success, for waits whose
	// goal is that the members be gone.
	NoneOK bool
}

// Targets is a Query resolved.
type Targets struct {
	// LoadBalancer is set as soon as it is found, also when a later step
	// fails, so that a report says how far the resolution got.
	LoadBalancer *loadbalancers.LoadBalancer
	// PoolID is the pool's ID when the query named one.
	PoolID string
	// Members are the members to wait on, each within PoolID when set.
	Members []memberwait.Selector
}

// Resolve finds the load balancer and the pool of q through sc and, with
// q.All, lists the members through src, one observation. clk times the
// retries.
func Resolve(ctx context.Context, clk clock.Clock, sc *gophercloud.ServiceClient, src memberwait.Source, q Query) (*Targets, error) {
	t := &Targets{}
	lb, err := LoadBalancer(ctx, clk, sc, q.LoadBalancer)
	if err != nil {
		return t, err
	}
	t.LoadBalancer = lb
	if q.Pool != "" {
		if t.PoolID, err = Pool(ctx, clk, sc, lb.ID, q.Pool); err != nil {
			return t, err
		}
	}
	if !q.All {
		t.Members = make([]memberwait.Selector, len(q.Members))
		for i, m := range q.Members {
			if t.PoolID != "" {
				m.PoolID = t.PoolID
			}
			t.Members[i] = m
		}
		return t, nil
	}
	if t.Members, err = AllMembers(ctx, clk, src, lb.ID, t.PoolID); err != nil {
		return t, err
	}
	if len(t.Members) == 0 && !q.NoneOK {
		return t, &NoMembersError{LoadBalancerID: lb.ID, LoadBalancerName: lb.Name, Pool: q.Pool}
	}
	return t, nil
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// LooksLikeID reports whether s has the shape of an OpenStack ID.
func LooksLikeID(s string) bool { return uuidRE.MatchString(s) }

// lookupRetries bounds the retries of the lookups made before a wait
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

// LoadBalancer finds a load balancer by ID, if sel has the shape of one and
// it exists, else by a name that must match exactly one load balancer.
func LoadBalancer(ctx context.Context, clk clock.Clock, sc *gophercloud.ServiceClient, sel string) (*loadbalancers.LoadBalancer, error) {
	if LooksLikeID(sel) {
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
		return nil, &NotFoundError{Kind: "load balancer", Selector: sel}
	}
	return nil, &AmbiguousError{Kind: "load balancer", Name: sel, IDs: ids(found, func(lb loadbalancers.LoadBalancer) string { return lb.ID })}
}

// Pool finds a pool of the load balancer lbID by name, which must match
// exactly one. An ID is taken as given: memberwait reports a pool that does
// not exist, after its not-found grace.
func Pool(ctx context.Context, clk clock.Clock, sc *gophercloud.ServiceClient, lbID, sel string) (string, error) {
	if LooksLikeID(sel) {
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
		return "", &NotFoundError{Kind: "pool", Selector: sel + " in load balancer " + lbID}
	}
	return "", &AmbiguousError{Kind: "pool", Name: sel, IDs: ids(found, func(p pools.Pool) string { return p.ID })}
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

// AllMembers lists the members of the load balancer lbID (of one pool, if
// poolID is set) from one observation of src.
func AllMembers(ctx context.Context, clk clock.Clock, src memberwait.Source, lbID, poolID string) ([]memberwait.Selector, error) {
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
	var members []memberwait.Selector
	poolSeen := false
	for _, p := range snap.Pools {
		if poolID != "" && p.ID != poolID {
			continue
		}
		poolSeen = true
		for _, m := range p.Members {
			members = append(members, memberwait.Selector{PoolID: p.ID, ID: m.ID})
		}
	}
	if poolID != "" && !poolSeen {
		return nil, &memberwait.NotFoundError{Kind: "pool", LoadBalancerID: lbID, Selector: memberwait.Selector{PoolID: poolID}}
	}
	return members, nil
}
