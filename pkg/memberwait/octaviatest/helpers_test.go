package octaviatest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/listeners"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/monitors"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	clocktesting "k8s.io/utils/clock/testing"
)

var epoch = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

const subnetID = "0f6b3a2c-1d4e-4f5a-8b6c-7d8e9f0a1b2c"

// env is one emulator on a fake clock with a gophercloud client for it.
type env struct {
	t   testing.TB
	srv *Server
	clk *clocktesting.FakeClock
	c   *gophercloud.ServiceClient
	ctx context.Context
}

func newEnv(t testing.TB, opts Options) *env {
	t.Helper()
	clk := clocktesting.NewFakeClock(epoch)
	opts.Clock = clk
	srv := NewServer(opts)
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, clk: clk, c: srv.ServiceClient(), ctx: context.Background()}
}

func (e *env) step(d time.Duration) { e.clk.Step(d) }

func (e *env) createLB(name string) *loadbalancers.LoadBalancer {
	e.t.Helper()
	lb, err := loadbalancers.Create(e.ctx, e.c, loadbalancers.CreateOpts{Name: name, VipSubnetID: subnetID}).Extract()
	if err != nil {
		e.t.Fatalf("create load balancer: %v", err)
	}
	return lb
}

// activeLB creates a load balancer and lets it become ACTIVE.
func (e *env) activeLB(name string) string {
	e.t.Helper()
	lb := e.createLB(name)
	e.step(DefaultDelays().LoadBalancer)
	return lb.ID
}

// activeListenerPool builds LB → listener → pool, all ACTIVE; it returns their IDs.
func (e *env) activeListenerPool() (lbID, listenerID, poolID string) {
	e.t.Helper()
	lbID = e.activeLB("lb")
	l, err := listeners.Create(e.ctx, e.c, listeners.CreateOpts{LoadbalancerID: lbID, Protocol: listeners.ProtocolTCP, ProtocolPort: 6443, Name: "api"}).Extract()
	if err != nil {
		e.t.Fatalf("create listener: %v", err)
	}
	e.step(DefaultDelays().Listener)
	p, err := pools.Create(e.ctx, e.c, pools.CreateOpts{ListenerID: l.ID, Protocol: pools.ProtocolTCP, LBMethod: pools.LBMethodRoundRobin, Name: "api"}).Extract()
	if err != nil {
		e.t.Fatalf("create pool: %v", err)
	}
	e.step(DefaultDelays().Pool)
	return lbID, l.ID, p.ID
}

func (e *env) addMonitor(poolID string) string {
	e.t.Helper()
	m, err := monitors.Create(e.ctx, e.c, monitors.CreateOpts{PoolID: poolID, Type: "TCP", Delay: 10, Timeout: 5, MaxRetries: 5, MaxRetriesDown: 3}).Extract()
	if err != nil {
		e.t.Fatalf("create monitor: %v", err)
	}
	e.step(DefaultDelays().HealthMonitor)
	return m.ID
}

func (e *env) createMember(poolID, name, addr string) *pools.Member {
	e.t.Helper()
	m, err := pools.CreateMember(e.ctx, e.c, poolID, pools.CreateMemberOpts{Name: name, Address: addr, ProtocolPort: 6443}).Extract()
	if err != nil {
		e.t.Fatalf("create member: %v", err)
	}
	return m
}

// statuses is what a test expects of one object.
type statuses struct{ prov, op string }

func (e *env) lbStatus(id string) statuses {
	e.t.Helper()
	lb, err := loadbalancers.Get(e.ctx, e.c, id).Extract()
	if err != nil {
		e.t.Fatalf("get load balancer: %v", err)
	}
	return statuses{lb.ProvisioningStatus, lb.OperatingStatus}
}

func (e *env) listenerStatus(id string) statuses {
	e.t.Helper()
	l, err := listeners.Get(e.ctx, e.c, id).Extract()
	if err != nil {
		e.t.Fatalf("get listener: %v", err)
	}
	return statuses{l.ProvisioningStatus, l.OperatingStatus}
}

func (e *env) poolStatus(id string) statuses {
	e.t.Helper()
	p, err := pools.Get(e.ctx, e.c, id).Extract()
	if err != nil {
		e.t.Fatalf("get pool: %v", err)
	}
	return statuses{p.ProvisioningStatus, p.OperatingStatus}
}

func (e *env) memberStatus(poolID, id string) statuses {
	e.t.Helper()
	m, err := pools.GetMember(e.ctx, e.c, poolID, id).Extract()
	if err != nil {
		e.t.Fatalf("get member: %v", err)
	}
	return statuses{m.ProvisioningStatus, m.OperatingStatus}
}

// raw sends a request without gophercloud; headers are name, value pairs.
func (e *env) raw(method, path, body string, headers ...string) (int, []byte, http.Header) {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = bytes.NewBufferString(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// fault decodes a wsme fault body.
func fault(t testing.TB, b []byte) faultJSON {
	t.Helper()
	var f faultJSON
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("not a fault body: %s", b)
	}
	return f
}

func errCode(err error) int {
	var ue gophercloud.ErrUnexpectedResponseCode
	if ok := asUnexpected(err, &ue); ok {
		return ue.Actual
	}
	return 0
}

func errBody(err error) []byte {
	var ue gophercloud.ErrUnexpectedResponseCode
	if asUnexpected(err, &ue) {
		return ue.Body
	}
	return nil
}

func asUnexpected(err error, ue *gophercloud.ErrUnexpectedResponseCode) bool {
	return err != nil && errors.As(err, ue)
}

func decodeJSON(t testing.TB, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}
