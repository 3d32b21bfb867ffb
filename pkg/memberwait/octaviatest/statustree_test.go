package octaviatest

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
)

func keysOf(m map[string]any) string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return strings.Join(k, ",")
}

// TestStatusTreeShape decodes the raw status tree and checks the keys at
// every level, including that health_monitor is left out without a monitor.
func TestStatusTreeShape(t *testing.T) {
	e := newEnv(t, Options{})
	seeded := e.srv.Seed(LoadBalancerSpec{Name: "lb", Listeners: []ListenerSpec{
		{Name: "monitored", Port: 6443, Pool: &PoolSpec{Name: "p1", Monitor: &MonitorSpec{},
			Members: []MemberSpec{{Address: "10.0.0.1"}, {Name: "named", Address: "10.0.0.2"}}}},
		{Name: "plain", Port: 22623, Pool: &PoolSpec{Name: "p2", Members: []MemberSpec{{Address: "10.0.0.1"}}}},
		{Name: "empty", Port: 80},
	}})
	// A pool on the load balancer but under no listener stays out of the tree.
	code, _, _ := e.raw("POST", "/v2/lbaas/pools", `{"pool":{"loadbalancer_id":"`+seeded.LoadBalancerID+`","protocol":"TCP","lb_algorithm":"ROUND_ROBIN"}}`, "X-Project-Id", "p")
	if code != 201 {
		t.Fatalf("create detached pool: %d", code)
	}

	code, body, _ := e.raw("GET", "/v2/lbaas/loadbalancers/"+seeded.LoadBalancerID+"/status", "")
	if code != 200 {
		t.Fatalf("status = %d", code)
	}
	var root map[string]any
	if err := json.Unmarshal(body, &root); err != nil {
		t.Fatal(err)
	}
	lb := root["statuses"].(map[string]any)["loadbalancer"].(map[string]any)
	listenersJSON := lb["listeners"].([]any)
	poolOf := func(i int) map[string]any {
		pl := listenersJSON[i].(map[string]any)["pools"].([]any)
		if len(pl) != 1 {
			t.Fatalf("listener %d has %d pools", i, len(pl))
		}
		return pl[0].(map[string]any)
	}
	tests := []struct {
		name string
		obj  map[string]any
		keys string
	}{
		{"root", root, "statuses"},
		{"load balancer", lb, "id,listeners,name,operating_status,provisioning_status"},
		{"listener", listenersJSON[0].(map[string]any), "id,name,operating_status,pools,provisioning_status"},
		{"pool with monitor", poolOf(0), "health_monitor,id,members,name,operating_status,provisioning_status"},
		{"monitor", poolOf(0)["health_monitor"].(map[string]any), "id,name,operating_status,provisioning_status,type"},
		{"member", poolOf(0)["members"].([]any)[0].(map[string]any), "address,id,name,operating_status,protocol_port,provisioning_status"},
		{"pool without monitor", poolOf(1), "id,members,name,operating_status,provisioning_status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := keysOf(tt.obj); got != tt.keys {
				t.Fatalf("keys = %s, want %s", got, tt.keys)
			}
		})
	}
	if len(listenersJSON) != 3 {
		t.Fatalf("listeners = %d, want 3", len(listenersJSON))
	}
	if pl := listenersJSON[2].(map[string]any)["pools"].([]any); len(pl) != 0 {
		t.Fatalf("listener without pool lists %d pools", len(pl))
	}
	m0 := poolOf(0)["members"].([]any)[0].(map[string]any)
	if m0["name"] != "" || m0["operating_status"] != StatusOffline || m0["protocol_port"] != float64(6443) {
		t.Fatalf("unnamed monitored member = %v", m0)
	}
	if m := poolOf(1)["members"].([]any)[0].(map[string]any); m["operating_status"] != StatusNoMonitor || m["protocol_port"] != float64(22623) {
		t.Fatalf("member without monitor = %v", m)
	}

	// And gophercloud decodes it.
	tree, err := loadbalancers.GetStatuses(e.ctx, e.c, seeded.LoadBalancerID).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if got := tree.Loadbalancer.Listeners[0].Pools[0].Members[1].Name; got != "named" {
		t.Fatalf("gophercloud member name = %q", got)
	}
}

// TestInitialOperatingStatus: NO_MONITOR without a pool monitor, OFFLINE with one,
// decided when the member is created.
func TestInitialOperatingStatus(t *testing.T) {
	tests := []struct {
		name    string
		monitor bool
		want    string
	}{
		{"no monitor", false, StatusNoMonitor},
		{"monitor", true, StatusOffline},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			_, _, poolID := e.activeListenerPool()
			if tt.monitor {
				e.addMonitor(poolID)
			}
			m := e.createMember(poolID, "", "10.0.0.5")
			if m.OperatingStatus != tt.want {
				t.Fatalf("POST operating_status = %s, want %s", m.OperatingStatus, tt.want)
			}
			e.step(DefaultDelays().Member)
			if got := e.memberStatus(poolID, m.ID); got != (statuses{StatusActive, tt.want}) {
				t.Fatalf("after create = %v, want ACTIVE/%s (no heartbeats, so it never moves)", got, tt.want)
			}
		})
	}
}

// TestObjectJSONFields checks GET bodies carry Octavia's field names.
func TestObjectJSONFields(t *testing.T) {
	e := newEnv(t, Options{})
	s := e.srv.Seed(LoadBalancerSpec{Listeners: []ListenerSpec{{Pool: &PoolSpec{Monitor: &MonitorSpec{}, Members: []MemberSpec{{Address: "10.0.0.1"}}}}}})
	tests := []struct {
		name, path, root string
		keys             []string
	}{
		{"load balancer", "/v2/lbaas/loadbalancers/" + s.LoadBalancerID, "loadbalancer",
			[]string{"id", "name", "description", "provisioning_status", "operating_status", "admin_state_up", "project_id", "tenant_id", "created_at", "updated_at", "vip_address", "vip_port_id", "vip_subnet_id", "vip_network_id", "additional_vips", "listeners", "pools", "provider", "flavor_id", "vip_qos_policy_id", "tags", "availability_zone"}},
		{"pool", "/v2/lbaas/pools/" + s.PoolIDs[0], "pool",
			[]string{"id", "name", "lb_algorithm", "protocol", "session_persistence", "loadbalancers", "listeners", "members", "healthmonitor_id", "tls_enabled", "project_id", "created_at", "updated_at"}},
		{"member", "/v2/lbaas/pools/" + s.PoolIDs[0] + "/members/" + s.MemberIDs[0][0], "member",
			[]string{"id", "name", "address", "protocol_port", "weight", "backup", "subnet_id", "monitor_address", "monitor_port", "admin_state_up", "provisioning_status", "operating_status", "tags"}},
		{"listener", "/v2/lbaas/listeners/" + s.ListenerIDs[0], "listener",
			[]string{"id", "protocol", "protocol_port", "default_pool_id", "loadbalancers", "connection_limit", "timeout_client_data", "insert_headers", "l7policies", "allowed_cidrs"}},
		{"monitor", "/v2/lbaas/healthmonitors/" + s.MonitorIDs[0], "healthmonitor",
			[]string{"id", "type", "delay", "timeout", "max_retries", "max_retries_down", "pools", "http_method", "url_path", "expected_codes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, b, _ := e.raw("GET", tt.path, "")
			if code != 200 {
				t.Fatalf("status %d", code)
			}
			var root map[string]map[string]any
			decodeJSON(t, b, &root)
			obj := root[tt.root]
			for _, k := range tt.keys {
				if _, ok := obj[k]; !ok {
					t.Errorf("missing %q in %s", k, b)
				}
			}
			if ts, ok := obj["created_at"].(string); !ok || len(ts) != len("2006-01-02T15:04:05") {
				t.Errorf("created_at = %v", obj["created_at"])
			}
		})
	}
	p, _ := e.srv.Pool(s.PoolIDs[0])
	if p.MonitorID != s.MonitorIDs[0] || len(p.Members) != 1 || p.Members[0].ID != s.MemberIDs[0][0] ||
		len(p.Listeners) != 1 || p.Listeners[0].ID != s.ListenerIDs[0] || p.Loadbalancers[0].ID != s.LoadBalancerID {
		t.Fatalf("pool relations = %+v", p)
	}
}
