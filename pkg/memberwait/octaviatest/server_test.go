package octaviatest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	clocktesting "k8s.io/utils/clock/testing"
)

func TestUnstartedServerAndHandler(t *testing.T) {
	s := NewUnstartedServer(Options{Clock: clocktesting.NewFakeClock(epoch)})
	if s.URL != "" {
		t.Fatalf("URL before Start = %q", s.URL)
	}
	s.Start()
	defer s.Close()
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Fatalf("URL = %q, want loopback", s.URL)
	}

	// The handler also serves when mounted elsewhere; it shares the state.
	mounted := httptest.NewServer(s.Handler())
	defer mounted.Close()
	seeded := s.Seed(LoadBalancerSpec{Name: "lb"})
	for _, base := range []string{s.URL, mounted.URL} {
		resp, err := http.Get(base + "/v2.0/lbaas/loadbalancers/" + seeded.LoadBalancerID)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", base, resp.StatusCode)
		}
	}
	if got := s.RequestCount(OpGetLoadBalancer); got != 2 {
		t.Fatalf("counted %d, want 2", got)
	}
	s.Close()
	s.Close() // idempotent
}

func TestInlineChildrenAreRefused(t *testing.T) {
	e := newEnv(t, Options{})
	code, b, _ := e.raw("POST", "/v2/lbaas/loadbalancers",
		`{"loadbalancer":{"vip_subnet_id":"`+subnetID+`","listeners":[{"protocol":"TCP","protocol_port":80}]}}`,
		"X-Project-Id", "p")
	if code != http.StatusBadRequest || !strings.Contains(fault(t, b).Faultstring, "not emulated") {
		t.Fatalf("inline listeners: %d %s", code, b)
	}
	if code, _, _ := e.raw("POST", "/v2/lbaas/loadbalancers",
		`{"loadbalancer":{"vip_subnet_id":"`+subnetID+`","listeners":[],"pools":null}}`, "X-Project-Id", "p"); code != http.StatusCreated {
		t.Fatalf("empty children: %d", code)
	}
}
