package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
)

var ctx = context.Background()

// errorProbes are the error answers clients meet, probed while the tree is
// load balancer → l1 → p1 → m1 (no monitor), all ACTIVE. The bodies are
// real Octavia 11's: wsme faults from the controllers, and pecan/webob
// bodies for what fails before a controller runs — among them a missing pool
// on a member path, which says "Bad Request" in a 404.
func errorProbes() []probe {
	members := "/v2/lbaas/pools/{p1}/members"
	pecan404 := func(desc string) string {
		return `{"code": 404, "title": "Bad Request", "description": "` + desc + `"}`
	}
	return []probe{
		{name: "missing member", method: "GET", path: members + "/{missing}", code: 404, want: fault("Member {missing} not found.")},
		{name: "delete a missing member", method: "DELETE", path: members + "/{missing}", code: 404, want: fault("Member {missing} not found.")},
		{name: "member of a missing pool", method: "GET", path: "/v2/lbaas/pools/{missing}/members/{m1}", code: 404, want: pecan404("Pool {missing} not found.")},
		{name: "members of a missing pool", method: "GET", path: "/v2/lbaas/pools/{missing}/members", code: 404, want: pecan404("Pool {missing} not found.")},
		{name: "member create in a missing pool", method: "POST", path: "/v2/lbaas/pools/{missing}/members",
			send: `{"member": {"address": "10.0.0.9", "protocol_port": 6443}}`, code: 404, want: pecan404("Pool {missing} not found.")},
		{name: "missing pool", method: "GET", path: "/v2/lbaas/pools/{missing}", code: 404, want: fault("Pool {missing} not found.")},
		{name: "missing load balancer", method: "GET", path: "/v2/lbaas/loadbalancers/{missing}", code: 404, want: fault("Load Balancer {missing} not found.")},
		{name: "status tree of a missing load balancer", method: "GET", path: "/v2/lbaas/loadbalancers/{missing}/status", code: 404, want: fault("Load Balancer {missing} not found.")},
		{name: "missing listener", method: "GET", path: "/v2/lbaas/listeners/{missing}", code: 404, want: fault("Listener {missing} not found.")},
		{name: "missing health monitor", method: "GET", path: "/v2/lbaas/healthmonitors/{missing}", code: 404, want: fault("Health Monitor {missing} not found.")},
		{name: "unknown route", method: "GET", path: "/v2/lbaas/flavorsx", code: 404, want: `{"code": 404, "title": "Not Found", "description": ""}`},
		{name: "method not allowed", method: "PATCH", path: members, send: `{}`, code: 405,
			want: `{"code": 405, "title": "Method Not Allowed", "description": ""}`, header: "Allow: DELETE, GET, POST, PUT"},
		{name: "unknown filter", method: "GET", path: members + "?colour=red", code: 400, want: fault("One or more arguments are either duplicate or invalid")},
		{name: "bad marker", method: "GET", path: members + "?marker=nope", code: 400, want: fault("Supplied pagination marker 'nope' is not valid.")},
		{name: "duplicate member", method: "POST", path: members, send: `{"member": {"address": "10.0.0.1", "protocol_port": 6443}}`,
			code: 409, want: fault("Another member on this pool is already using ip 10.0.0.1 on protocol_port 6443")},
		{name: "duplicate listener port", method: "POST", path: "/v2/lbaas/listeners",
			send: `{"listener": {"loadbalancer_id": "{lb}", "protocol": "HTTP", "protocol_port": 6443}}`,
			code: 409, want: fault("Another Listener on this Load Balancer is already using protocol TCP and protocol_port 6443")},
		{name: "member without address", method: "POST", path: members, send: `{"member": {"protocol_port": 80}}`,
			code: 400, want: fault("Invalid input for field/attribute address. Value: 'None'. Mandatory field missing.")},
		// wsme reports a value its type rejects on the attribute…
		{name: "port out of range", method: "POST", path: members, send: `{"member": {"address": "10.0.0.3", "protocol_port": 70000}}`,
			code: 400, want: fault(`Invalid input for field/attribute protocol_port. Value: '70000'. Value should be lower or equal to 65535`)},
		{name: "bad address", method: "POST", path: members, send: `{"member": {"address": "nope", "protocol_port": 80}}`,
			code: 400, want: fault(`Invalid input for field/attribute address. Value: 'nope'. Value should be IPv4 or IPv6 format`)},
		{name: "name of the wrong type", method: "POST", path: members, send: `{"member": {"address": "10.0.0.3", "protocol_port": 80, "name": 7}}`,
			code: 400, want: fault(`Invalid input for field/attribute name. Value: '7'. Value should be string`)},
		{name: "bad subnet UUID", method: "POST", path: members, send: `{"member": {"address": "10.0.0.3", "protocol_port": 80, "subnet_id": "x"}}`,
			code: 400, want: fault(`Invalid input for field/attribute subnet_id. Value: 'x'. Value should be UUID format`)},
		{name: "tag of the wrong type", method: "POST", path: members, send: `{"member": {"address": "10.0.0.3", "protocol_port": 80, "tags": [1]}}`,
			code: 400, want: fault(`Invalid input for field/attribute tags. Value: '[1]'. Value should be string`)},
		// …and a value it cannot convert at all on the whole body argument,
		// quoting the body as Python prints it.
		{name: "port of the wrong type", method: "POST", path: members, send: `{"member": {"address": "10.0.0.3", "protocol_port": "x"}}`,
			code: 400, want: fault(`Invalid input for field/attribute member_. Value: '{'member': {'address': '10.0.0.3', 'protocol_port': 'x'}}'. invalid literal for int() with base 10: 'x'`)},
		{name: "bad boolean", method: "POST", path: members, send: `{"member": {"address": "10.0.0.3", "protocol_port": 80, "admin_state_up": "maybe"}}`,
			code: 400, want: fault(`Invalid input for field/attribute member_. Value: '{'member': {'address': '10.0.0.3', 'protocol_port': 80, 'admin_state_up': 'maybe'}}'. Value not an unambiguous boolean: maybe`)},
		{name: "float boolean and a quoted name", method: "POST", path: members,
			send: `{"member": {"address": "10.0.0.3", "protocol_port": 80, "admin_state_up": 1.5, "name": "a\"b'c\n"}}`,
			code: 400, want: fault(`Invalid input for field/attribute member_. Value: '{'member': {'address': '10.0.0.3', 'protocol_port': 80, 'admin_state_up': 1.5, 'name': 'a\"b\\'c\\n'}}'. Value not an unambiguous boolean: 1.5`)},
		{name: "tags that are no list", method: "POST", path: members, send: `{"member": {"address": "10.0.0.3", "protocol_port": 80, "tags": "x"}}`,
			code: 400, want: fault(`Invalid input for field/attribute member_. Value: '{'member': {'address': '10.0.0.3', 'protocol_port': 80, 'tags': 'x'}}'. Value not a valid list: x`)},
		{name: "body that is no object", method: "POST", path: members, send: `[1]`,
			code: 500, want: `{"faultcode": "Server", "faultstring": "'list' object has no attribute 'keys'", "debuginfo": null}`},
		{name: "two unknown attributes", method: "POST", path: "/v2/lbaas/loadbalancers",
			send: `{"loadbalancer": {"vip_subnet_id": "` + vipSubnet + `", "bogus": 1}}`,
			code: 400, want: fault("Unknown attribute for argument load_balancer.loadbalancer: bogus")},
		{name: "method not allowed on the status tree", method: "POST", path: "/v2/lbaas/loadbalancers/{lb}/status", code: 405,
			want: `{"code": 405, "title": "Method Not Allowed", "description": ""}`, header: "Allow: GET"},
		{name: "unknown API version", method: "GET", path: "/v3", code: 404, want: `{"code": 404, "title": "Not Found", "description": null}`},
		{name: "member update in a missing pool", method: "PUT", path: "/v2/lbaas/pools/{missing}/members/{m1}",
			send: `{"member": {"weight": 2}}`, code: 404, want: pecan404("Pool {missing} not found.")},
		{name: "unknown attribute", method: "POST", path: members, send: `{"member": {"address": "10.0.0.3", "protocol_port": 80, "bogus": 1}}`,
			code: 400, want: fault("Unknown attribute for argument member_.member: bogus")},
		{name: "unknown root attribute", method: "POST", path: members, send: `{"member": {"address": "10.0.0.3", "protocol_port": 80}, "bogus": 1}`,
			code: 400, want: fault("Unknown attribute for argument member_: bogus")},
		{name: "unknown attribute in a batch", method: "PUT", path: members, send: `{"members": [{"address": "10.0.0.3", "protocol_port": 80, "bogus": 1}]}`,
			code: 400, want: fault("Unknown attribute for argument members_.members: bogus")},
		{name: "reserved address", method: "POST", path: members, send: `{"member": {"address": "169.254.169.254", "protocol_port": 80}}`,
			code: 400, want: fault("169.254.169.254 is not a valid option for member address")},
		{name: "invalid JSON", method: "POST", path: members, send: `{"member":`, code: 400, want: fault("Request is not in valid JSON format")},
	}
}

// checkImmutable sends every kind of mutation while a member create holds
// the tree in PENDING_UPDATE: all get 409; the resource the text names (the
// pool or the load balancer) depends on which check fails first, so clients
// must match on the code.
func checkImmutable(t *testing.T, f *fixture) {
	t.Helper()
	lbImmutable := fault("Load Balancer {lb} is immutable and cannot be updated.")
	poolImmutable := fault("Pool {p1} is immutable and cannot be updated.")
	lbState := fault("Invalid state PENDING_UPDATE of loadbalancer resource {lb}")
	members := "/v2/lbaas/pools/{p1}/members"
	probes := []probe{
		{name: "member create", method: "POST", path: members, send: `{"member": {"address": "10.0.0.9", "protocol_port": 6443}}`, want: poolImmutable},
		{name: "member update", method: "PUT", path: members + "/{m2}", send: `{"member": {"weight": 3}}`, want: poolImmutable},
		{name: "member delete", method: "DELETE", path: members + "/{m2}", want: poolImmutable},
		{name: "batch member update", method: "PUT", path: members, send: `{"members": []}`, want: poolImmutable},
		{name: "health monitor update", method: "PUT", path: "/v2/lbaas/healthmonitors/{hm1}", send: `{"healthmonitor": {"delay": 11}}`, want: poolImmutable},
		{name: "listener create", method: "POST", path: "/v2/lbaas/listeners",
			send: `{"listener": {"loadbalancer_id": "{lb}", "protocol": "TCP", "protocol_port": 80}}`, want: lbImmutable},
		{name: "listener update", method: "PUT", path: "/v2/lbaas/listeners/{l1}", send: `{"listener": {"name": "l1"}}`, want: lbImmutable},
		{name: "pool create", method: "POST", path: "/v2/lbaas/pools",
			send: `{"pool": {"loadbalancer_id": "{lb}", "protocol": "TCP", "lb_algorithm": "ROUND_ROBIN"}}`, want: lbImmutable},
		{name: "pool update", method: "PUT", path: "/v2/lbaas/pools/{p1}", send: `{"pool": {"name": "p1"}}`, want: lbImmutable},
		{name: "load balancer update", method: "PUT", path: "/v2/lbaas/loadbalancers/{lb}", send: `{"loadbalancer": {"name": "{lbname}"}}`, want: lbState},
		{name: "load balancer cascade delete", method: "DELETE", path: "/v2/lbaas/loadbalancers/{lb}?cascade=true", want: lbState},
	}
	for i := range probes {
		probes[i].name = "409 on " + probes[i].name
		probes[i].code = http.StatusConflict
		probes[i].textOnly = true
	}
	checkProbes(t, f, probes)
}

// Keys of each level of the status tree, as real Octavia 11 sends them; a
// pool without a health monitor has no health_monitor key at all.
var treeKeys = map[string]string{
	"root":     "statuses",
	"statuses": "loadbalancer",
	"lb":       "id,listeners,name,operating_status,provisioning_status",
	"listener": "id,name,operating_status,pools,provisioning_status",
	"pool":     "id,members,name,operating_status,provisioning_status",
	"monitor":  "id,name,operating_status,provisioning_status,type",
	"member":   "address,id,name,operating_status,protocol_port,provisioning_status",
}

func keysOf(v any) string {
	m, _ := v.(map[string]any)
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ",")
}

func checkTreeShape(t *testing.T, f *fixture, withMonitor bool) {
	t.Helper()
	var root map[string]any
	f.b.rawJSON(t, "GET", "/v2/lbaas/loadbalancers/"+f.ids["lb"]+"/status", "", 200, &root)
	statuses, _ := root["statuses"].(map[string]any)
	lb, _ := statuses["loadbalancer"].(map[string]any)
	first := func(v any) any {
		if l, ok := v.([]any); ok && len(l) > 0 {
			return l[0]
		}
		return nil
	}
	l := first(lb["listeners"])
	p := first(l.(map[string]any)["pools"])
	pool, _ := p.(map[string]any)
	poolKeys := treeKeys["pool"]
	if withMonitor {
		poolKeys = "health_monitor," + poolKeys
	}
	levels := []struct {
		name string
		obj  any
		want string
	}{
		{"root", root, treeKeys["root"]},
		{"statuses", statuses, treeKeys["statuses"]},
		{"load balancer", lb, treeKeys["lb"]},
		{"listener", l, treeKeys["listener"]},
		{"pool", pool, poolKeys},
		{"member", first(pool["members"]), treeKeys["member"]},
	}
	if withMonitor {
		levels = append(levels, struct {
			name string
			obj  any
			want string
		}{"health monitor", pool["health_monitor"], treeKeys["monitor"]})
	}
	for _, lv := range levels {
		if got := keysOf(lv.obj); got != lv.want {
			t.Errorf("%s: status tree %s keys = %s, want %s", f.b.name, lv.name, got, lv.want)
		}
	}
}

// checkList GETs a collection and compares the names it lists, in order
// (nil means none).
func checkList(t *testing.T, f *fixture, path, coll string, want []string) {
	t.Helper()
	var out map[string]json.RawMessage
	f.b.rawJSON(t, "GET", f.expand(path), "", 200, &out)
	var items []map[string]any
	if err := json.Unmarshal(out[coll], &items); err != nil {
		t.Fatalf("%s: %s: %v", f.b.name, path, err)
	}
	var got, detail []string
	for _, it := range items {
		n, _ := it["name"].(string)
		got = append(got, n)
		detail = append(detail, fmt.Sprintf("%s(created %v, id %v)", n, it["created_at"], it["id"]))
	}
	if !strings.Contains(path, "sort=") {
		// Octavia orders by created_at (whole seconds), then by the random
		// ID: objects created in the same second come in any order.
		sort.Strings(got)
		want = append([]string(nil), want...)
		sort.Strings(want)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s: GET %s lists %v, want %v", f.b.name, path, detail, want)
	}
}

// checkListFilters: members m2 (10.0.0.2, weight 5) and m3 (10.0.0.3) are
// ACTIVE/OFFLINE in p1, which has monitor hm1.
func checkListFilters(t *testing.T, f *fixture) {
	t.Helper()
	members := "/v2/lbaas/pools/{p1}/members"
	tests := []struct {
		path, coll string
		want       []string
	}{
		{members, "members", []string{"m2", "m3"}},
		{members + "?address=10.0.0.3", "members", []string{"m3"}},
		{members + "?name=m2", "members", []string{"m2"}},
		{members + "?weight=5", "members", []string{"m2"}},
		{members + "?protocol_port=6443", "members", []string{"m2", "m3"}},
		{members + "?provisioning_status=ACTIVE", "members", []string{"m2", "m3"}},
		{members + "?operating_status=OFFLINE", "members", []string{"m2", "m3"}},
		{members + "?operating_status=NO_MONITOR", "members", nil},
		{members + "?sort=address:desc", "members", []string{"m3", "m2"}},
		{members + "?limit=1&sort=address", "members", []string{"m2"}},
		{"/v2/lbaas/loadbalancers?name={lbname}", "loadbalancers", []string{"{lbname}"}},
		{"/v2/lbaas/loadbalancers?name={lbname}&provisioning_status=ACTIVE", "loadbalancers", []string{"{lbname}"}},
		{"/v2/lbaas/loadbalancers?name={lbname}&operating_status=ONLINE", "loadbalancers", nil},
		{"/v2/lbaas/listeners?loadbalancer_id={lb}", "listeners", []string{"l1"}},
		{"/v2/lbaas/pools?loadbalancer_id={lb}", "pools", []string{"p1"}},
		{"/v2/lbaas/healthmonitors?pool_id={p1}", "healthmonitors", []string{"hm1"}},
	}
	for _, tt := range tests {
		want := make([]string, len(tt.want))
		for i, w := range tt.want {
			want[i] = f.expand(w)
		}
		if tt.want == nil {
			want = nil
		}
		checkList(t, f, tt.path, tt.coll, want)
	}
	// ?fields= keeps the attributes named by its values; values are not
	// split at commas, so "id,name" names nothing.
	for q, want := range map[string]string{"?fields=id&fields=name": "id,name", "?fields=id,name&fields=address": "address", "?fields=id,name": ""} {
		var out struct {
			Members []map[string]any `json:"members"`
		}
		f.b.rawJSON(t, "GET", f.expand(members+q), "", 200, &out)
		for _, m := range out.Members {
			if got := keysOf(m); got != want {
				t.Errorf("%s: %s gave keys %s, want %s", f.b.name, q, got, want)
			}
		}
	}
	// A repeated filter reaches SQL as a list and fails there.
	checkProbes(t, f, []probe{{name: "repeated filter", method: "GET", path: members + "?address=10.0.0.2&address=10.0.0.3",
		code: 500, textOnly: true}})
}

// objectKeys are the attributes real Octavia 11 (API v2.26) returns for each
// object, tenant_id included (wsme's alias of project_id).
var objectKeys = map[string]string{
	"loadbalancer":  "additional_vips,admin_state_up,availability_zone,created_at,description,flavor_id,id,listeners,name,operating_status,pools,project_id,provider,provisioning_status,tags,tenant_id,updated_at,vip_address,vip_network_id,vip_port_id,vip_qos_policy_id,vip_subnet_id",
	"listener":      "admin_state_up,allowed_cidrs,alpn_protocols,client_authentication,client_ca_tls_container_ref,client_crl_container_ref,connection_limit,created_at,default_pool_id,default_tls_container_ref,description,id,insert_headers,l7policies,loadbalancers,name,operating_status,project_id,protocol,protocol_port,provisioning_status,sni_container_refs,tags,tenant_id,timeout_client_data,timeout_member_connect,timeout_member_data,timeout_tcp_inspect,tls_ciphers,tls_versions,updated_at",
	"pool":          "admin_state_up,alpn_protocols,ca_tls_container_ref,created_at,crl_container_ref,description,healthmonitor_id,id,lb_algorithm,listeners,loadbalancers,members,name,operating_status,project_id,protocol,provisioning_status,session_persistence,tags,tenant_id,tls_ciphers,tls_container_ref,tls_enabled,tls_versions,updated_at",
	"member":        "address,admin_state_up,backup,created_at,id,monitor_address,monitor_port,name,operating_status,project_id,protocol_port,provisioning_status,subnet_id,tags,tenant_id,updated_at,weight",
	"healthmonitor": "admin_state_up,created_at,delay,domain_name,expected_codes,http_method,http_version,id,max_retries,max_retries_down,name,operating_status,pools,project_id,provisioning_status,tags,tenant_id,timeout,type,updated_at,url_path",
}

// checkObjectKeys GETs every object of the tree and compares its keys.
func checkObjectKeys(t *testing.T, f *fixture) {
	t.Helper()
	paths := map[string]string{
		"loadbalancer":  "/v2/lbaas/loadbalancers/{lb}",
		"listener":      "/v2/lbaas/listeners/{l1}",
		"pool":          "/v2/lbaas/pools/{p1}",
		"member":        "/v2/lbaas/pools/{p1}/members/{m2}",
		"healthmonitor": "/v2/lbaas/healthmonitors/{hm1}",
	}
	for root, path := range paths {
		var out map[string]any
		f.b.rawJSON(t, "GET", f.expand(path), "", 200, &out)
		if got := keysOf(out[root]); got != objectKeys[root] {
			t.Errorf("%s: %s keys\n  got  %s\n  want %s", f.b.name, root, got, objectKeys[root])
		}
		if obj, _ := out[root].(map[string]any); obj["tenant_id"] != obj["project_id"] {
			t.Errorf("%s: %s tenant_id %v != project_id %v", f.b.name, root, obj["tenant_id"], obj["project_id"])
		}
	}
}
