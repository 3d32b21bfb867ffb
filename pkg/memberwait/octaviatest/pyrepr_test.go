package octaviatest

import "testing"

// TestPyRepr checks the Python printing wsme's messages quote bodies with;
// the expectations are CPython 3.11's repr() and str() of json.loads.
func TestPyRepr(t *testing.T) {
	tests := []struct {
		json, repr, str string
	}{
		{`{"member": {"address": "10.0.0.3", "protocol_port": "x"}}`, `{'member': {'address': '10.0.0.3', 'protocol_port': 'x'}}`, ""},
		{`{"b": 1, "a": [true, false, null]}`, `{'b': 1, 'a': [True, False, None]}`, ""},
		{`"x"`, `'x'`, `x`},
		{`"it's"`, `"it's"`, `it's`},
		{`"a\"b'c\n"`, `'a"b\'c\n'`, "a\"b'c\n"},
		{`"tab\tbell\u0007"`, `'tab\tbell\x07'`, ""},
		{`1.5`, `1.5`, `1.5`},
		{`1.0`, `1.0`, ""},
		{`1e20`, `1e+20`, ""},
		{`0.00001`, `1e-05`, ""},
		{`70000`, `70000`, `70000`},
		{`[1]`, `[1]`, `[1]`},
		{`{}`, `{}`, ""},
	}
	for _, tt := range tests {
		if got := pyRepr([]byte(tt.json)); got != tt.repr {
			t.Errorf("pyRepr(%s) = %s, want %s", tt.json, got, tt.repr)
		}
		if tt.str != "" {
			if got := pyStr([]byte(tt.json)); got != tt.str {
				t.Errorf("pyStr(%s) = %q, want %q", tt.json, got, tt.str)
			}
		}
	}
}

// TestPecanErrors: what pecan answers before a controller runs, as
// measured on Octavia 11.
func TestPecanErrors(t *testing.T) {
	e := newEnv(t, Options{})
	lbID := e.activeLB("lb")
	tests := []struct {
		name, method, path string
		code               int
		body, allow        string
	}{
		{"unknown route under v2", "GET", "/v2/lbaas/flavorsx", 404, `{"code":404,"title":"Not Found","description":""}`, ""},
		{"unknown version", "GET", "/v3", 404, `{"code":404,"title":"Not Found","description":null}`, ""},
		{"wrong method on a resource", "PATCH", "/v2/lbaas/loadbalancers/" + lbID, 405, `{"code":405,"title":"Method Not Allowed","description":""}`, "DELETE, GET, POST, PUT"},
		{"wrong method on the status tree", "POST", "/v2/lbaas/loadbalancers/" + lbID + "/status", 405, `{"code":405,"title":"Method Not Allowed","description":""}`, "GET"},
		{"member of a missing pool", "DELETE", "/v2/lbaas/pools/11111111-2222-4333-8444-555555555555/members/x", 404,
			`{"code":404,"title":"Bad Request","description":"Pool 11111111-2222-4333-8444-555555555555 not found."}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, hdr := e.raw(tt.method, tt.path, "")
			if code != tt.code || string(body) != tt.body || hdr.Get("Allow") != tt.allow {
				t.Fatalf("%s %s = %d %s (Allow %q), want %d %s (Allow %q)", tt.method, tt.path, code, body, hdr.Get("Allow"), tt.code, tt.body, tt.allow)
			}
		})
	}
}

// TestWsmeConversionErrors: values wsme cannot convert are reported on the
// body argument, values their type rejects on the attribute.
func TestWsmeConversionErrors(t *testing.T) {
	e := newEnv(t, Options{})
	_, _, poolID := e.activeListenerPool()
	members := "/v2/lbaas/pools/" + poolID + "/members"
	tests := []struct {
		name, body string
		code       int
		want       string
	}{
		{"bad boolean", `{"member":{"address":"10.0.0.3","protocol_port":80,"admin_state_up":"maybe"}}`, 400,
			`Invalid input for field/attribute member_. Value: '{'member': {'address': '10.0.0.3', 'protocol_port': 80, 'admin_state_up': 'maybe'}}'. Value not an unambiguous boolean: maybe`},
		{"tags no list", `{"member":{"address":"10.0.0.3","protocol_port":80,"tags":"x"}}`, 400,
			`Invalid input for field/attribute member_. Value: '{'member': {'address': '10.0.0.3', 'protocol_port': 80, 'tags': 'x'}}'. Value not a valid list: x`},
		{"tag no string", `{"member":{"address":"10.0.0.3","protocol_port":80,"tags":[1]}}`, 400,
			`Invalid input for field/attribute tags. Value: '[1]'. Value should be string`},
		{"name no string", `{"member":{"address":"10.0.0.3","protocol_port":80,"name":7}}`, 400,
			`Invalid input for field/attribute name. Value: '7'. Value should be string`},
		{"two unknown attributes", `{"member":{"address":"10.0.0.3","protocol_port":80,"zz":1,"aa":2}}`, 400,
			`Unknown attributes for argument member_.member: aa, zz`},
		{"unknown root attribute", `{"member":{"address":"10.0.0.3","protocol_port":80},"x":1}`, 400,
			`Unknown attribute for argument member_: x`},
		{"body no object", `[1]`, 500, `'list' object has no attribute 'keys'`},
		{"numeric string port", `{"member":{"address":"10.0.0.3","protocol_port":"81"}}`, 201, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, _ := e.raw("POST", members, tt.body, "X-Project-Id", "p")
			if code != tt.code {
				t.Fatalf("status %d, want %d: %s", code, tt.code, body)
			}
			if tt.want != "" {
				if f := fault(t, body); f.Faultstring != tt.want {
					t.Fatalf("faultstring = %q, want %q", f.Faultstring, tt.want)
				}
			}
		})
	}
}
