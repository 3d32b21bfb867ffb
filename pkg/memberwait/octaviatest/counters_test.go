package octaviatest

import (
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
)

func TestCounters(t *testing.T) {
	e := newEnv(t, Options{})
	s := e.srv.Seed(LoadBalancerSpec{Listeners: []ListenerSpec{{Pool: &PoolSpec{Members: []MemberSpec{{Address: "10.0.0.1"}}}}}})
	poolID, memberID := s.PoolIDs[0], s.MemberIDs[0][0]
	if got := e.srv.TotalRequests(); got != 0 {
		t.Fatalf("Seed counted %d requests", got)
	}

	// ServiceClient talks to /v2/; raw requests use /v2.0/ like a Keystone-built client.
	for i := 0; i < 3; i++ {
		if _, err := loadbalancers.GetStatuses(e.ctx, e.c, s.LoadBalancerID).Extract(); err != nil {
			t.Fatal(err)
		}
	}
	e.raw("GET", "/v2.0/lbaas/loadbalancers/"+s.LoadBalancerID+"/status", "")
	e.raw("GET", "/v2/lbaas/loadbalancers/"+s.LoadBalancerID+"/statuses", "")
	if _, err := pools.ListMembers(e.c, poolID, nil).AllPages(e.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := pools.GetMember(e.ctx, e.c, poolID, memberID).Extract(); err != nil {
		t.Fatal(err)
	}
	if err := pools.DeleteMember(e.ctx, e.c, poolID, memberID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	e.raw("GET", "/v2/lbaas/nothing-here", "")
	e.srv.Member(memberID) // inspection is not a request
	e.srv.LoadBalancer(s.LoadBalancerID)

	want := map[Operation]int{
		OpGetLoadBalancerStatus:                 5,
		OpListMembers:                           1,
		OpGetMember:                             1,
		OpDeleteMember:                          1,
		Operation("GET /v2/lbaas/nothing-here"): 1,
	}
	got := e.srv.Requests()
	for op, n := range want {
		if got[op] != n {
			t.Errorf("%s = %d, want %d", op, got[op], n)
		}
		if e.srv.RequestCount(op) != n {
			t.Errorf("RequestCount(%s) = %d, want %d", op, e.srv.RequestCount(op), n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("Requests() = %v", got)
	}
	if e.srv.TotalRequests() != 9 {
		t.Errorf("TotalRequests = %d, want 9", e.srv.TotalRequests())
	}
	got[OpGetMember] = 100 // a copy
	if e.srv.RequestCount(OpGetMember) != 1 {
		t.Error("Requests() returned the live map")
	}
	e.srv.ResetCounters()
	if e.srv.TotalRequests() != 0 || len(e.srv.Requests()) != 0 {
		t.Errorf("after reset: %d, %v", e.srv.TotalRequests(), e.srv.Requests())
	}
}

func TestVersionDiscovery(t *testing.T) {
	e := newEnv(t, Options{})
	code, b, _ := e.raw("GET", "/", "")
	if code != 200 {
		t.Fatal(code)
	}
	var out struct {
		Versions []versionJSON `json:"versions"`
	}
	decodeJSON(t, b, &out)
	last := out.Versions[len(out.Versions)-1]
	if out.Versions[0].ID != "v2.0" || last.ID != "v2.26" || last.Status != "CURRENT" || last.Links[0].Href != e.srv.URL+"/v2" {
		t.Fatalf("versions = %s", b)
	}
	for _, p := range []string{"/v2", "/v2.0/", "/v2/lbaas"} {
		if code, b, _ := e.raw("GET", p, ""); code != 200 || string(b) != `"v2"` {
			t.Errorf("GET %s = %d %s", p, code, b)
		}
	}
	if e.srv.Endpoint() != e.srv.URL+"/" {
		t.Errorf("Endpoint() = %s", e.srv.Endpoint())
	}
}
