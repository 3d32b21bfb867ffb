package octaviatest

import (
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	clocktesting "k8s.io/utils/clock/testing"
)

// waitForWaiter yields until something waits on the fake clock; it gives up
// after a real-time bound so a broken test fails instead of hanging.
func waitForWaiter(t *testing.T, clk *clocktesting.FakeClock) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !clk.HasWaiters() {
		if time.Now().After(deadline) {
			t.Fatal("no request is waiting on the clock")
		}
		runtime.Gosched()
	}
}

func TestFaultCountAndCodes(t *testing.T) {
	tests := []struct {
		name       string
		fault      Fault
		wantCode   int
		retryAfter string
		fault409   bool
	}{
		{"503", Fault{Method: "GET", PathContains: "/status", Codes: []int{503}, Count: 2}, 503, "1", false},
		{"429", Fault{PathContains: "/status", Codes: []int{429}, Count: 2}, 429, "1", false},
		{"409 names the load balancer", Fault{Codes: []int{409}, Count: 2}, 409, "", true},
		{"500", Fault{Method: "get", Codes: []int{500}, Count: 2}, 500, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			s := e.srv.Seed(LoadBalancerSpec{Name: "lb"})
			e.srv.InjectFault(tt.fault)
			path := "/v2/lbaas/loadbalancers/" + s.LoadBalancerID + "/status"
			for i := 0; i < 2; i++ {
				code, b, h := e.raw("GET", path, "")
				if code != tt.wantCode {
					t.Fatalf("request %d: status %d, want %d", i, code, tt.wantCode)
				}
				if got := h.Get("Retry-After"); got != tt.retryAfter {
					t.Fatalf("Retry-After = %q, want %q", got, tt.retryAfter)
				}
				f := fault(t, b)
				if tt.fault409 && f.Faultstring != "Load Balancer "+s.LoadBalancerID+" is immutable and cannot be updated." {
					t.Fatalf("409 body = %s", b)
				}
				if !tt.fault409 && f.Faultstring != http.StatusText(tt.wantCode) {
					t.Fatalf("fault body = %s", b)
				}
			}
			if code, _, _ := e.raw("GET", path, ""); code != 200 {
				t.Fatalf("after Count is spent: status %d", code)
			}
			if got := e.srv.RequestCount(OpGetLoadBalancerStatus); got != 3 {
				t.Fatalf("counted %d status requests, want 3 (faulted ones included)", got)
			}
		})
	}
}

func TestFaultMatchingAndRemove(t *testing.T) {
	e := newEnv(t, Options{})
	s := e.srv.Seed(LoadBalancerSpec{Listeners: []ListenerSpec{{Pool: &PoolSpec{}}}})
	remove := e.srv.InjectFault(Fault{Method: "POST", PathContains: "/members", Codes: []int{503}})
	poolMembers := "/v2/lbaas/pools/" + s.PoolIDs[0] + "/members"

	if code, _, _ := e.raw("GET", poolMembers, ""); code != 200 {
		t.Fatalf("GET hit a POST fault: %d", code)
	}
	body := `{"member":{"address":"10.0.0.1","protocol_port":6443}}`
	if code, _, _ := e.raw("POST", poolMembers, body, "X-Project-Id", "p"); code != 503 {
		t.Fatalf("POST: %d, want 503", code)
	}
	if got := e.lbStatus(s.LoadBalancerID).prov; got != StatusActive {
		t.Fatalf("a faulted request changed state: LB %s", got)
	}
	remove()
	remove() // idempotent
	if code, _, _ := e.raw("POST", poolMembers, body, "X-Project-Id", "p"); code != 201 {
		t.Fatalf("POST after remove: %d, want 201", code)
	}
}

// TestFaultProbabilityIsSeeded: the same seed hits the same requests.
func TestFaultProbabilityIsSeeded(t *testing.T) {
	pattern := func(seed int64) []bool {
		e := newEnv(t, Options{Seed: seed})
		e.srv.InjectFault(Fault{Probability: 0.3, Codes: []int{429, 503}})
		var hits []bool
		for i := 0; i < 200; i++ {
			code, _, _ := e.raw("GET", "/v2/lbaas/loadbalancers", "")
			if code != 200 && code != 429 && code != 503 {
				t.Fatalf("status %d", code)
			}
			hits = append(hits, code != 200)
		}
		return hits
	}
	a, b, c := pattern(42), pattern(42), pattern(7)
	count := 0
	same, differs := true, false
	for i := range a {
		if a[i] {
			count++
		}
		same = same && a[i] == b[i]
		differs = differs || a[i] != c[i]
	}
	if !same {
		t.Fatal("same seed, different fault pattern")
	}
	if !differs {
		t.Fatal("different seeds, identical fault pattern")
	}
	if count < 30 || count > 90 {
		t.Fatalf("%d of 200 hit at p=0.3", count)
	}
}

func TestFaultLatencyOnFakeClock(t *testing.T) {
	e := newEnv(t, Options{})
	lbID := e.createLB("lb").ID
	e.srv.InjectFault(Fault{PathContains: "/loadbalancers/", Latency: 2 * time.Second})

	type result struct {
		lb  *loadbalancers.LoadBalancer
		err error
	}
	done := make(chan result, 1)
	go func() {
		lb, err := loadbalancers.Get(e.ctx, e.c, lbID).Extract()
		done <- result{lb, err}
	}()
	waitForWaiter(t, e.clk)
	e.step(time.Second)
	select {
	case <-done:
		t.Fatal("request finished before its latency passed")
	default:
	}
	e.step(time.Second)
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	// The request is handled when the latency is over: 2s > the 1.2s create.
	if r.lb.ProvisioningStatus != StatusActive {
		t.Fatalf("status after latency = %s, want ACTIVE", r.lb.ProvisioningStatus)
	}
}

func TestCloseEndsRequestsWaitingOnLatency(t *testing.T) {
	e := newEnv(t, Options{})
	e.srv.InjectFault(Fault{Latency: time.Hour})
	done := make(chan error, 1)
	go func() {
		_, err := loadbalancers.List(e.c, nil).AllPages(e.ctx)
		done <- err
	}()
	waitForWaiter(t, e.clk)
	e.srv.Close()
	if err := <-done; err == nil {
		t.Fatal("request waiting on latency succeeded after Close")
	}
}
