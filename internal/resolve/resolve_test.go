package resolve

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/membergate/membergate/pkg/memberwait"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
	"github.com/membergate/membergate/pkg/memberwait/vclock"
)

const (
	lbName   = "k8s-clusterapi-cluster-default-demo-kubeapi"
	poolName = lbName + "-6443"
)

// bed is an emulated Octavia with CAPO's API server load balancer and two
// members, and a clock fast enough that the lookups' retry pauses (1 s,
// 2 s) take milliseconds.
type bed struct {
	srv    *octaviatest.Server
	sc     *gophercloud.ServiceClient
	clk    *vclock.Clock
	seeded octaviatest.Seeded
}

func newBed(t *testing.T) *bed {
	t.Helper()
	srv := octaviatest.NewServer(octaviatest.Options{Seed: 3})
	t.Cleanup(srv.Close)
	seeded := srv.Seed(octaviatest.LoadBalancerSpec{Name: lbName, Listeners: []octaviatest.ListenerSpec{{Port: 6443,
		Pool: &octaviatest.PoolSpec{Name: poolName, Members: []octaviatest.MemberSpec{{Address: "10.6.0.11"}, {Address: "10.6.0.12"}}}}}})
	return &bed{srv: srv, sc: srv.ServiceClient(), clk: vclock.NewScaled(time.Now(), 10000), seeded: seeded}
}

func TestLoadBalancerByNameOrID(t *testing.T) {
	b := newBed(t)
	ctx := context.Background()
	for _, sel := range []string{lbName, b.seeded.LoadBalancerID} {
		lb, err := LoadBalancer(ctx, b.clk, b.sc, sel)
		if err != nil || lb.ID != b.seeded.LoadBalancerID {
			t.Errorf("LoadBalancer(%q) = %+v, %v; want %s", sel, lb, err, b.seeded.LoadBalancerID)
		}
	}
	var nf *NotFoundError
	if _, err := LoadBalancer(ctx, b.clk, b.sc, "no-such-lb"); !errors.As(err, &nf) || err.Error() != `load balancer "no-such-lb" not found` {
		t.Errorf("unknown name: %v, want a NotFoundError", err)
	}
	// An ID that does not exist may still be a name.
	if _, err := LoadBalancer(ctx, b.clk, b.sc, "3f2a9c1e-0000-4000-8000-0123456789ab"); !errors.As(err, &nf) {
		t.Errorf("unknown ID: %v, want a NotFoundError", err)
	}

	other := b.srv.Seed(octaviatest.LoadBalancerSpec{Name: lbName})
	var amb *AmbiguousError
	_, err := LoadBalancer(ctx, b.clk, b.sc, lbName)
	if !errors.As(err, &amb) || len(amb.IDs) != 2 || !strings.Contains(err.Error(), other.LoadBalancerID) {
		t.Errorf("two load balancers of one name: %v, want an AmbiguousError naming both", err)
	}
}

func TestLookupsRideOutTransientErrors(t *testing.T) {
	b := newBed(t)
	b.srv.InjectFault(octaviatest.Fault{Method: "GET", PathContains: "/loadbalancers", Codes: []int{503}, Count: 2})
	lb, err := LoadBalancer(context.Background(), b.clk, b.sc, lbName)
	if err != nil || lb.ID != b.seeded.LoadBalancerID {
		t.Fatalf("after two 503s: %+v, %v", lb, err)
	}
	if n := b.srv.RequestCount(octaviatest.OpListLoadBalancers); n != 3 {
		t.Errorf("%d list requests, want 3 (two 503s, then the answer)", n)
	}

	b.srv.InjectFault(octaviatest.Fault{Method: "GET", PathContains: "/pools", Codes: []int{503}})
	if _, err := Pool(context.Background(), b.clk, b.sc, lb.ID, poolName); err == nil || !gophercloud.ResponseCodeIs(err, 503) {
		t.Errorf("a pool lookup that always gets 503: %v, want the 503 after %d tries", err, lookupRetries)
	}
	if n := b.srv.RequestCount(octaviatest.OpListPools); n != lookupRetries {
		t.Errorf("%d pool list requests, want %d", n, lookupRetries)
	}
}

func TestPool(t *testing.T) {
	b := newBed(t)
	ctx := context.Background()
	lbID := b.seeded.LoadBalancerID
	if id, err := Pool(ctx, b.clk, b.sc, lbID, poolName); err != nil || id != b.seeded.PoolIDs[0] {
		t.Errorf("Pool by name = %q, %v; want %s", id, err, b.seeded.PoolIDs[0])
	}
	if id, err := Pool(ctx, b.clk, b.sc, lbID, strings.ToUpper(b.seeded.PoolIDs[0])); err != nil || id != b.seeded.PoolIDs[0] {
		t.Errorf("Pool by ID = %q, %v; want it as given, lower-cased", id, err)
	}
	var nf *NotFoundError
	if _, err := Pool(ctx, b.clk, b.sc, lbID, "web"); !errors.As(err, &nf) {
		t.Errorf("unknown pool: %v, want a NotFoundError", err)
	}
}

func TestResolve(t *testing.T) {
	b := newBed(t)
	ctx := context.Background()
	src := memberwait.StatusTree(b.sc)

	tg, err := Resolve(ctx, b.clk, b.sc, src, Query{LoadBalancer: lbName, Pool: poolName,
		Members: []memberwait.Selector{{Address: "10.6.0.11"}, {Name: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range tg.Members {
		if m.PoolID != b.seeded.PoolIDs[0] {
			t.Errorf("member %+v not placed in the pool %s", m, b.seeded.PoolIDs[0])
		}
	}

	tg, err = Resolve(ctx, b.clk, b.sc, src, Query{LoadBalancer: lbName, All: true})
	if err != nil || len(tg.Members) != 2 || tg.Members[0].ID != b.seeded.MemberIDs[0][0] || tg.Members[1].ID != b.seeded.MemberIDs[0][1] {
		t.Errorf("All = %+v, %v; want the two seeded members", tg, err)
	}

	empty := b.srv.Seed(octaviatest.LoadBalancerSpec{Name: "empty"})
	tg, err = Resolve(ctx, b.clk, b.sc, src, Query{LoadBalancer: "empty", All: true})
	var none *NoMembersError
	if !errors.As(err, &none) || err.Error() != "load balancer empty ("+empty.LoadBalancerID+") has no members" {
		t.Errorf("All on an empty load balancer: %v, want a NoMembersError", err)
	}
	if tg.LoadBalancer == nil || tg.LoadBalancer.ID != empty.LoadBalancerID {
		t.Errorf("the load balancer found before the error is not reported: %+v", tg)
	}
	if _, err := Resolve(ctx, b.clk, b.sc, src, Query{LoadBalancer: "empty", All: true, NoneOK: true}); err != nil {
		t.Errorf("All with NoneOK on an empty load balancer: %v", err)
	}
}
