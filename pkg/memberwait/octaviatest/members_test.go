package octaviatest

import (
	"sort"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
)

func memberNames(t *testing.T, e *env, poolID string, opts pools.ListMembersOptsBuilder) []string {
	t.Helper()
	page, err := pools.ListMembers(e.c, poolID, opts).AllPages(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := pools.ExtractMembers(page)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	sort.Strings(names)
	return names
}

func TestBatchUpdateMembers(t *testing.T) {
	e := newEnv(t, Options{})
	s := e.srv.Seed(LoadBalancerSpec{Listeners: []ListenerSpec{{Port: 6443, Pool: &PoolSpec{Members: []MemberSpec{
		{Name: "keep", Address: "10.0.0.1"}, {Name: "drop", Address: "10.0.0.2"},
	}}}}})
	poolID := s.PoolIDs[0]
	keepID, dropID := s.MemberIDs[0][0], s.MemberIDs[0][1]

	newName, w := "kept", 7
	err := pools.BatchUpdateMembers(e.ctx, e.c, poolID, []pools.BatchUpdateMemberOpts{
		{Address: "10.0.0.1", ProtocolPort: 6443, Name: &newName, Weight: &w},
		{Address: "10.0.0.3", ProtocolPort: 6443, Name: ptr("new")},
	}).ExtractErr()
	if err != nil {
		t.Fatalf("batch update: %v", err)
	}
	byName := func() map[string]pools.Member {
		page, err := pools.ListMembers(e.c, poolID, nil).AllPages(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		ms, _ := pools.ExtractMembers(page)
		out := map[string]pools.Member{}
		for _, m := range ms {
			out[m.Name] = m
		}
		return out
	}
	got := byName()
	checks := []struct {
		name, prov string
	}{{"kept", StatusPendingUpdate}, {"drop", StatusPendingDelete}, {"new", StatusPendingCreate}}
	for _, c := range checks {
		if got[c.name].ProvisioningStatus != c.prov {
			t.Errorf("%s = %s, want %s", c.name, got[c.name].ProvisioningStatus, c.prov)
		}
	}
	if got["kept"].ID != keepID || got["kept"].Weight != 7 {
		t.Errorf("kept member = %+v", got["kept"])
	}
	for name, st := range map[string]statuses{"lb": e.lbStatus(s.LoadBalancerID), "listener": e.listenerStatus(s.ListenerIDs[0]), "pool": e.poolStatus(poolID)} {
		if st.prov != StatusPendingUpdate {
			t.Errorf("%s during batch = %s, want PENDING_UPDATE", name, st.prov)
		}
	}

	e.step(DefaultDelays().Member)
	got = byName()
	if len(got) != 2 || got["kept"].ProvisioningStatus != StatusActive || got["new"].ProvisioningStatus != StatusActive {
		t.Fatalf("after batch = %+v", got)
	}
	if _, ok := e.srv.Member(dropID); ok {
		t.Fatal("dropped member still exists")
	}
	if st := e.lbStatus(s.LoadBalancerID); st.prov != StatusActive {
		t.Fatalf("load balancer after batch = %s", st.prov)
	}

	// An identical batch updates both again; an empty batch on an empty pool is a no-op.
	code, _, _ := e.raw("PUT", "/v2/lbaas/pools/"+poolID+"/members?additive_only=true", `{"members":[]}`)
	if code != 202 {
		t.Fatalf("additive empty batch = %d", code)
	}
	if st := e.lbStatus(s.LoadBalancerID); st.prov != StatusActive {
		t.Fatalf("a no-op batch locked the load balancer: %s", st.prov)
	}
}

func ptr[T any](v T) *T { return &v }

func TestListMemberFilters(t *testing.T) {
	e := newEnv(t, Options{})
	s := e.srv.Seed(LoadBalancerSpec{Listeners: []ListenerSpec{{Port: 6443, Pool: &PoolSpec{Members: []MemberSpec{
		{Name: "a", Address: "10.0.0.1"},
		{Name: "b", Address: "10.0.0.2", OperatingStatus: StatusOnline},
		{Name: "c", Address: "10.0.0.3", ProtocolPort: 22623, SubnetID: subnetID},
	}}}}})
	poolID := s.PoolIDs[0]
	if err := e.srv.SetMemberStatus(s.MemberIDs[0][2], StatusError, ""); err != nil {
		t.Fatal(err)
	}
	// Tags and weight are set through the API.
	if _, err := pools.UpdateMember(e.ctx, e.c, poolID, s.MemberIDs[0][0], pools.UpdateMemberOpts{Tags: []string{"cp", "x"}, Weight: ptr(3)}).Extract(); err != nil {
		t.Fatal(err)
	}
	e.step(DefaultDelays().Member)

	tests := []struct {
		name  string
		query string
		want  string
	}{
		{"none", "", "a,b,c"},
		{"name", "name=b", "b"},
		{"id", "id=" + s.MemberIDs[0][1], "b"},
		{"address", "address=10.0.0.3", "c"},
		{"protocol_port", "protocol_port=6443", "a,b"},
		{"provisioning_status", "provisioning_status=ERROR", "c"},
		{"operating_status", "operating_status=NO_MONITOR", "a,c"},
		{"subnet_id", "subnet_id=" + subnetID, "c"},
		{"weight", "weight=3", "a"},
		{"admin_state_up", "admin_state_up=true", "a,b,c"},
		{"tags all", "tags=cp,x", "a"},
		{"tags any", "tags-any=x,zzz", "a"},
		{"not-tags", "not-tags=cp", "b,c"},
		{"combined", "protocol_port=6443&operating_status=ONLINE", "b"},
		{"no match", "name=zzz", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, b, _ := e.raw("GET", "/v2/lbaas/pools/"+poolID+"/members?"+tt.query, "")
			if code != 200 {
				t.Fatalf("status %d: %s", code, b)
			}
			var out struct {
				Members []memberJSON `json:"members"`
			}
			decodeJSON(t, b, &out)
			var names []string
			for _, m := range out.Members {
				names = append(names, m.Name)
			}
			sort.Strings(names)
			if got := strings.Join(names, ","); got != tt.want {
				t.Fatalf("?%s = %q, want %q", tt.query, got, tt.want)
			}
		})
	}
	// A repeated filter is a 500 on Octavia 11 (the list reaches SQL's "=").
	if code, b, _ := e.raw("GET", "/v2/lbaas/pools/"+poolID+"/members?name=a&name=c", ""); code != 500 {
		t.Fatalf("repeated filter: status %d, want 500: %s", code, b)
	}
	// Through gophercloud's own query builder.
	if got := memberNames(t, e, poolID, pools.ListMembersOpts{Address: "10.0.0.2", ProtocolPort: 6443}); strings.Join(got, ",") != "b" {
		t.Fatalf("gophercloud filter = %v", got)
	}
}

func TestListPaginationAndSort(t *testing.T) {
	e := newEnv(t, Options{})
	var specs []MemberSpec
	for i := 0; i < 5; i++ {
		specs = append(specs, MemberSpec{Name: string(rune('a' + i)), Address: "10.0.0." + string(rune('1'+i))})
	}
	s := e.srv.Seed(LoadBalancerSpec{Listeners: []ListenerSpec{{Pool: &PoolSpec{Members: specs}}}})
	poolID := s.PoolIDs[0]

	// gophercloud follows the next links until a page comes back empty.
	if got := memberNames(t, e, poolID, pools.ListMembersOpts{Limit: 2}); strings.Join(got, ",") != "a,b,c,d,e" {
		t.Fatalf("paged list = %v", got)
	}
	code, b, _ := e.raw("GET", "/v2/lbaas/pools/"+poolID+"/members?sort_key=name&sort_dir=desc&limit=2", "")
	if code != 200 {
		t.Fatal(code)
	}
	var out struct {
		Members []memberJSON `json:"members"`
		Links   []linkJSON   `json:"members_links"`
	}
	decodeJSON(t, b, &out)
	if len(out.Members) != 2 || out.Members[0].Name != "e" || out.Members[1].Name != "d" {
		t.Fatalf("sorted page = %+v", out.Members)
	}
	if len(out.Links) != 1 || out.Links[0].Rel != "next" || !strings.Contains(out.Links[0].Href, "marker="+out.Members[1].ID) {
		t.Fatalf("links = %+v", out.Links)
	}
	for _, path := range []string{
		"/v2/lbaas/pools/" + poolID + "/members?fields=id&fields=name",
		"/v2/lbaas/pools/" + poolID + "/members/" + s.MemberIDs[0][0] + "?fields=id&fields=name",
	} {
		code, b, _ = e.raw("GET", path, "")
		if code != 200 || strings.Contains(string(b), "address") || !strings.Contains(string(b), `"name"`) {
			t.Fatalf("fields selection on %s: %d %s", path, code, b)
		}
	}
	// Octavia 11 does not split values at commas: no attribute is named "id,name".
	code, b, _ = e.raw("GET", "/v2/lbaas/pools/"+poolID+"/members/"+s.MemberIDs[0][0]+"?fields=id,name", "")
	if code != 200 || string(b) != `{"member":{}}` {
		t.Fatalf("?fields=id,name: %d %s, want an empty member", code, b)
	}
}

func TestListLoadBalancersAndPoolsFilters(t *testing.T) {
	e := newEnv(t, Options{})
	a := e.srv.Seed(LoadBalancerSpec{Name: "a", Listeners: []ListenerSpec{{Name: "la", Pool: &PoolSpec{Name: "pa"}}}})
	e.srv.Seed(LoadBalancerSpec{Name: "b", Listeners: []ListenerSpec{{Name: "lb", Pool: &PoolSpec{Name: "pb", Monitor: &MonitorSpec{}}}}})
	if err := e.srv.SetLoadBalancerStatus(a.LoadBalancerID, StatusPendingUpdate, ""); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path, coll, want string
	}{
		{"/v2/lbaas/loadbalancers?name=b", "loadbalancers", "b"},
		{"/v2/lbaas/loadbalancers?provisioning_status=PENDING_UPDATE", "loadbalancers", "a"},
		{"/v2/lbaas/loadbalancers?project_id=" + DefaultProjectID, "loadbalancers", "a,b"},
		{"/v2/lbaas/pools?loadbalancer_id=" + a.LoadBalancerID, "pools", "pa"},
		{"/v2/lbaas/listeners?loadbalancer_id=" + a.LoadBalancerID, "listeners", "la"},
		{"/v2/lbaas/listeners?protocol_port=6443", "listeners", "la,lb"},
		{"/v2/lbaas/healthmonitors?type=TCP", "healthmonitors", ""},
		{"/v2/lbaas/healthmonitors?type=HTTP", "healthmonitors", "<none>"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			code, b, _ := e.raw("GET", tt.path, "")
			if code != 200 {
				t.Fatalf("status %d: %s", code, b)
			}
			var out map[string][]map[string]any
			decodeJSON(t, b, &out)
			var names []string
			for _, o := range out[tt.coll] {
				names = append(names, o["name"].(string))
			}
			sort.Strings(names)
			got := strings.Join(names, ",")
			if len(names) == 0 {
				got = "<none>"
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			if _, ok := out[tt.coll+"_links"]; !ok {
				t.Fatalf("no %s_links", tt.coll)
			}
		})
	}
}
