package octaviatest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/listeners"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/monitors"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
)

// TestImmutableWhilePending: while a member create holds the tree in
// PENDING_UPDATE every mutation gets 409, with the resource Octavia names.
func TestImmutableWhilePending(t *testing.T) {
	e := newEnv(t, Options{})
	lbID, listenerID, poolID := e.activeListenerPool()
	first := e.createMember(poolID, "cp-0", "10.0.0.10")

	name := "x"
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"member create names the pool", func() error {
			_, err := pools.CreateMember(e.ctx, e.c, poolID, pools.CreateMemberOpts{Address: "10.0.0.11", ProtocolPort: 6443}).Extract()
			return err
		}, "Pool " + poolID + " is immutable and cannot be updated."},
		{"member delete names the pool", func() error {
			return pools.DeleteMember(e.ctx, e.c, poolID, first.ID).ExtractErr()
		}, "Pool " + poolID + " is immutable and cannot be updated."},
		{"monitor create names the pool", func() error {
			_, err := monitors.Create(e.ctx, e.c, monitors.CreateOpts{PoolID: poolID, Type: "TCP", Delay: 1, Timeout: 1, MaxRetries: 1}).Extract()
			return err
		}, "Pool " + poolID + " is immutable and cannot be updated."},
		{"listener create names the load balancer", func() error {
			_, err := listeners.Create(e.ctx, e.c, listeners.CreateOpts{LoadbalancerID: lbID, Protocol: listeners.ProtocolTCP, ProtocolPort: 80}).Extract()
			return err
		}, "Load Balancer " + lbID + " is immutable and cannot be updated."},
		{"listener update names the load balancer", func() error {
			_, err := listeners.Update(e.ctx, e.c, listenerID, listeners.UpdateOpts{Name: &name}).Extract()
			return err
		}, "Load Balancer " + lbID + " is immutable and cannot be updated."},
		{"pool create names the load balancer", func() error {
			_, err := pools.Create(e.ctx, e.c, pools.CreateOpts{LoadbalancerID: lbID, Protocol: pools.ProtocolTCP, LBMethod: pools.LBMethodRoundRobin}).Extract()
			return err
		}, "Load Balancer " + lbID + " is immutable and cannot be updated."},
		{"pool delete names the load balancer", func() error {
			return pools.Delete(e.ctx, e.c, poolID).ExtractErr()
		}, "Load Balancer " + lbID + " is immutable and cannot be updated."},
		{"load balancer update reports its state", func() error {
			_, err := loadbalancers.Update(e.ctx, e.c, lbID, loadbalancers.UpdateOpts{Name: &name}).Extract()
			return err
		}, "Invalid state PENDING_UPDATE of loadbalancer resource " + lbID},
		{"load balancer delete reports its state", func() error {
			return loadbalancers.Delete(e.ctx, e.c, lbID, loadbalancers.DeleteOpts{Cascade: true}).ExtractErr()
		}, "Invalid state PENDING_UPDATE of loadbalancer resource " + lbID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if errCode(err) != http.StatusConflict {
				t.Fatalf("err = %v, want 409", err)
			}
			f := fault(t, errBody(err))
			if f.Faultstring != tt.want || f.Faultcode != "Client" || f.Debuginfo != nil {
				t.Fatalf("fault = %+v, want faultstring %q", f, tt.want)
			}
		})
	}
	// A 409 changes nothing: the tree still becomes ACTIVE on the first create's schedule.
	e.step(DefaultDelays().Member)
	if got := e.lbStatus(lbID).prov; got != StatusActive {
		t.Fatalf("load balancer after the create = %s, want ACTIVE", got)
	}
	if got := e.memberStatus(poolID, first.ID).prov; got != StatusActive {
		t.Fatalf("first member = %s, want ACTIVE", got)
	}
}

func TestImmutableBodyOverRawHTTP(t *testing.T) {
	e := newEnv(t, Options{})
	lbID := e.createLB("lb").ID // PENDING_CREATE
	code, body, hdr := e.raw("POST", "/v2/lbaas/listeners",
		`{"listener":{"loadbalancer_id":"`+lbID+`","protocol":"TCP","protocol_port":80}}`)
	if code != http.StatusConflict {
		t.Fatalf("status = %d, want 409", code)
	}
	want := `{"faultcode":"Client","faultstring":"Load Balancer ` + lbID + ` is immutable and cannot be updated.","debuginfo":null}`
	if string(body) != want {
		t.Fatalf("body = %s, want %s", body, want)
	}
	if ct := hdr.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q", ct)
	}
	if id := hdr.Get("X-Openstack-Request-Id"); !strings.HasPrefix(id, "req-") {
		t.Fatalf("X-Openstack-Request-Id = %q", id)
	}
}

// TestNotFoundBodies: a missing member and a missing pool are told apart by
// the 404 body, as in Octavia.
func TestNotFoundBodies(t *testing.T) {
	e := newEnv(t, Options{})
	_, _, poolID := e.activeListenerPool()
	_, _, otherPool := e.activeListenerPool()
	foreign := e.createMember(otherPool, "x", "10.0.0.99")
	const missing = "11111111-2222-4333-8444-555555555555"

	tests := []struct {
		name, path, want string
		// pecan: the pool is looked up while routing, and pecan renders the
		// error itself: {"code": 404, "title": "Bad Request", "description": …}.
		pecan bool
	}{
		{"missing member", "/v2/lbaas/pools/" + poolID + "/members/" + missing, "Member " + missing + " not found.", false},
		{"member of another pool", "/v2/lbaas/pools/" + poolID + "/members/" + foreign.ID, "Member " + foreign.ID + " not found.", false},
		{"missing pool on member path", "/v2/lbaas/pools/" + missing + "/members/" + foreign.ID, "Pool " + missing + " not found.", true},
		{"missing pool on member list", "/v2.0/lbaas/pools/" + missing + "/members", "Pool " + missing + " not found.", true},
		{"missing pool", "/v2/lbaas/pools/" + missing, "Pool " + missing + " not found.", false},
		{"missing load balancer", "/v2/lbaas/loadbalancers/" + missing, "Load Balancer " + missing + " not found.", false},
		{"missing status tree", "/v2/lbaas/loadbalancers/" + missing + "/status", "Load Balancer " + missing + " not found.", false},
		{"missing listener", "/v2/lbaas/listeners/" + missing, "Listener " + missing + " not found.", false},
		{"missing monitor", "/v2/lbaas/healthmonitors/" + missing, "Health Monitor " + missing + " not found.", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, _ := e.raw("GET", tt.path, "")
			if code != http.StatusNotFound {
				t.Fatalf("status = %d, want 404", code)
			}
			if tt.pecan {
				want := `{"code":404,"title":"Bad Request","description":"` + tt.want + `"}`
				if string(body) != want {
					t.Fatalf("body = %s, want %s", body, want)
				}
				return
			}
			if f := fault(t, body); f.Faultstring != tt.want || f.Faultcode != "Client" {
				t.Fatalf("fault = %+v, want %q", f, tt.want)
			}
		})
	}
}

func TestProjectIDRule(t *testing.T) {
	e := newEnv(t, Options{ProjectID: "proj-a"})
	body := func(extra string) string {
		return `{"loadbalancer":{"vip_subnet_id":"` + subnetID + `"` + extra + `}}`
	}
	tests := []struct {
		name        string
		body        string
		headers     []string
		wantCode    int
		wantProject string
	}{
		{"no header, no project_id", body(""), nil, 400, ""},
		{"X-Project-Id header", body(""), []string{"X-Project-Id", "proj-h"}, 201, "proj-h"},
		{"project_id in body", body(`,"project_id":"proj-b"`), nil, 201, "proj-b"},
		{"tenant_id in body", body(`,"tenant_id":"proj-t"`), nil, 201, "proj-t"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, b, _ := e.raw("POST", "/v2/lbaas/loadbalancers", tt.body, tt.headers...)
			if code != tt.wantCode {
				t.Fatalf("status = %d, want %d: %s", code, tt.wantCode, b)
			}
			if tt.wantCode == 400 {
				if f := fault(t, b); !strings.Contains(f.Faultstring, "Missing project ID in request where one is required.") {
					t.Fatalf("faultstring = %q", f.Faultstring)
				}
				return
			}
			var out struct{ Loadbalancer lbJSON }
			decodeJSON(t, b, &out)
			if out.Loadbalancer.ProjectID != tt.wantProject || out.Loadbalancer.TenantID != tt.wantProject {
				t.Fatalf("project = %q/%q, want %q", out.Loadbalancer.ProjectID, out.Loadbalancer.TenantID, tt.wantProject)
			}
		})
	}
	// ServiceClient sends Options.ProjectID, and children inherit the load balancer's project.
	lb := e.createLB("via-client")
	if lb.ProjectID != "proj-a" {
		t.Fatalf("ServiceClient project = %q, want proj-a", lb.ProjectID)
	}
}

func TestBadRequests(t *testing.T) {
	e := newEnv(t, Options{})
	_, _, poolID := e.activeListenerPool()
	members := "/v2/lbaas/pools/" + poolID + "/members"
	tests := []struct {
		name, method, path, body string
		wantCode                 int
		wantFault                string // substring; "" skips the check
	}{
		{"invalid JSON", "POST", members, `{"member":`, 400, "Request is not in valid JSON format"},
		{"missing address", "POST", members, `{"member":{"protocol_port":80}}`, 400,
			"Invalid input for field/attribute address. Value: 'None'. Mandatory field missing."},
		{"bad address", "POST", members, `{"member":{"address":"nope","protocol_port":80}}`, 400,
			"Value should be IPv4 or IPv6 format"},
		{"port out of range", "POST", members, `{"member":{"address":"10.0.0.1","protocol_port":70000}}`, 400,
			"Value should be lower or equal to 65535"},
		// Conversion errors escape to the body argument, quoting the body as
		// Python prints it (measured on Octavia 11).
		{"port of wrong type", "POST", members, `{"member":{"address":"10.0.0.1","protocol_port":"x"}}`, 400,
			`Invalid input for field/attribute member_. Value: '{'member': {'address': '10.0.0.1', 'protocol_port': 'x'}}'. invalid literal for int() with base 10: 'x'`},
		{"unknown attribute", "POST", members, `{"member":{"address":"10.0.0.1","protocol_port":80,"bogus":1}}`, 400,
			"Unknown attribute for argument member_.member: bogus"},
		{"reserved address", "POST", members, `{"member":{"address":"169.254.169.254","protocol_port":80}}`, 400,
			"169.254.169.254 is not a valid option for member address"},
		{"no VIP", "POST", "/v2/lbaas/loadbalancers", `{"loadbalancer":{"project_id":"p"}}`, 400,
			"Validation failure: VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id."},
		{"pool without parent", "POST", "/v2/lbaas/pools", `{"pool":{"protocol":"TCP","lb_algorithm":"ROUND_ROBIN"}}`, 400,
			"Validation failure: Must provide at least one of: loadbalancer_id, listener_id"},
		{"bad enum", "POST", "/v2/lbaas/pools", `{"pool":{"protocol":"FTP","lb_algorithm":"ROUND_ROBIN"}}`, 400,
			"Value should be one of:"},
		{"bad filter", "GET", members + "?colour=red", "", 400, "One or more arguments are either duplicate or invalid"},
		{"bad marker", "GET", members + "?marker=nope", "", 400, "Supplied pagination marker 'nope' is not valid."},
		{"unsupported method", "PATCH", members, `{}`, 405, ""},
		{"unknown route", "GET", "/v2/lbaas/flavors", "", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, b, _ := e.raw(tt.method, tt.path, tt.body, "X-Project-Id", "p")
			if code != tt.wantCode {
				t.Fatalf("status = %d, want %d: %s", code, tt.wantCode, b)
			}
			if tt.wantFault != "" {
				if f := fault(t, b); !strings.Contains(f.Faultstring, tt.wantFault) {
					t.Fatalf("faultstring = %q, want it to contain %q", f.Faultstring, tt.wantFault)
				}
			}
		})
	}
}

func TestDuplicates(t *testing.T) {
	e := newEnv(t, Options{})
	lbID, _, poolID := e.activeListenerPool()
	e.createMember(poolID, "a", "10.0.0.1")
	e.step(DefaultDelays().Member)

	_, err := pools.CreateMember(e.ctx, e.c, poolID, pools.CreateMemberOpts{Address: "10.0.0.1", ProtocolPort: 6443}).Extract()
	if want := "Another member on this pool is already using ip 10.0.0.1 on protocol_port 6443"; errCode(err) != 409 || fault(t, errBody(err)).Faultstring != want {
		t.Fatalf("duplicate member: %v", err)
	}
	_, err = listeners.Create(e.ctx, e.c, listeners.CreateOpts{LoadbalancerID: lbID, Protocol: listeners.ProtocolHTTP, ProtocolPort: 6443}).Extract()
	if want := "Another Listener on this Load Balancer is already using protocol TCP and protocol_port 6443"; errCode(err) != 409 || fault(t, errBody(err)).Faultstring != want {
		t.Fatalf("duplicate listener: %v", err)
	}
	// UDP is another L4 protocol, so the same port is fine.
	if _, err := listeners.Create(e.ctx, e.c, listeners.CreateOpts{LoadbalancerID: lbID, Protocol: listeners.ProtocolUDP, ProtocolPort: 6443}).Extract(); err != nil {
		t.Fatalf("UDP listener on a TCP port: %v", err)
	}
}
