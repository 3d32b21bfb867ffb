package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
	clocktesting "k8s.io/utils/clock/testing"
)

var epoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	lbName   = "k8s-clusterapi-cluster-default-demo-kubeapi"
	poolName = "k8s-clusterapi-cluster-default-demo-kubeapi-6443"
	user     = "capo"
	password = "Sup3r-s3cret"
)

// testBed is an Octavia emulator on a fake clock with CAPO's API server load
// balancer seeded, and a clouds.yaml that reaches it two ways: "octavia"
// (auth_type none, endpoint override) and "keystone" (password auth against
// the emulator's Keystone).
type testBed struct {
	t      *testing.T
	clk    *clocktesting.FakeClock
	srv    *octaviatest.Server
	sc     *gophercloud.ServiceClient
	seeded octaviatest.Seeded
	clouds string
	// env is the environment the command sees; nil is an empty one.
	env func(string) string
	// ctx is the command's context; nil is context.Background().
	ctx context.Context
}

func newTestBed(t *testing.T, monitor bool) *testBed {
	t.Helper()
	cleanEnv(t)
	clk := clocktesting.NewFakeClock(epoch)
	srv := octaviatest.NewServer(octaviatest.Options{Clock: clk, Seed: 7, Users: map[string]string{user: password}})
	t.Cleanup(srv.Close)
	pool := &octaviatest.PoolSpec{Name: poolName, Members: []octaviatest.MemberSpec{
		{Name: lbName + "-6443-demo-control-plane-old1", Address: "10.6.0.11", OperatingStatus: "ONLINE"},
		{Name: lbName + "-6443-demo-control-plane-old2", Address: "10.6.0.12", OperatingStatus: "ONLINE"},
	}}
	if monitor {
		pool.Monitor = &octaviatest.MonitorSpec{}
	} else {
		for i := range pool.Members {
			pool.Members[i].OperatingStatus = "NO_MONITOR"
		}
	}
	seeded := srv.Seed(octaviatest.LoadBalancerSpec{Name: lbName, Listeners: []octaviatest.ListenerSpec{
		{Name: lbName + "-6443", Port: 6443, Pool: pool},
	}})
	clouds := filepath.Join(t.TempDir(), "clouds.yaml")
	yaml := `clouds:
  octavia:
    auth_type: none
    auth:
      project_id: ` + octaviatest.DefaultProjectID + `
    load_balancer_endpoint_override: ` + srv.URL + `
  keystone:
    auth:
      auth_url: ` + srv.KeystoneURL() + `
      username: ` + user + `
      password: ` + password + `
      project_name: demo
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
`
	if err := os.WriteFile(clouds, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return &testBed{t: t, clk: clk, srv: srv, sc: srv.ServiceClient(), seeded: seeded, clouds: clouds}
}

// cleanEnv keeps the developer's OpenStack settings out of the tests.
func cleanEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "OS_") {
			t.Setenv(k, "")
		}
	}
	t.Setenv("HOME", t.TempDir())
}

func (b *testBed) poolID() string { return b.seeded.PoolIDs[0] }

// addMember scripts the member at address and creates it through the API,
// as CAPO does for a new control-plane Machine.
func (b *testBed) addMember(name, address string, script octaviatest.MemberScript) string {
	b.t.Helper()
	b.srv.ScriptMembers(octaviatest.MemberMatch{Address: address}, script)
	m, err := pools.CreateMember(context.Background(), b.sc, b.poolID(), pools.CreateMemberOpts{
		Name: name, Address: address, ProtocolPort: 6443}).Extract()
	if err != nil {
		b.t.Fatalf("create member: %v", err)
	}
	return m.ID
}

// wait runs "membergate wait" against the noauth cloud with args.
func (b *testBed) wait(args ...string) (int, string, string) {
	return b.run(append([]string{"wait", "--os-config-file", b.clouds, "--os-cloud", "octavia", "--loadbalancer", lbName}, args...)...)
}

// run runs the command in a goroutine and moves the fake clock on whenever
// the command waits on it, until the command returns.
func (b *testBed) run(args ...string) (int, string, string) {
	b.t.Helper()
	var stdout, stderr bytes.Buffer
	c := newCLI(&stdout, &stderr, b.env)
	c.clock = b.clk
	ctx := b.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	done := make(chan int, 1)
	go func() { done <- c.run(ctx, args) }()
	deadline := time.Now().Add(10 * time.Second) // a hang guard, not a timing assertion
	for {
		select {
		case code := <-done:
			return code, stdout.String(), stderr.String()
		default:
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("membergate %v did not return; stderr so far:\n%s", args, stderr.String())
		}
		if b.clk.HasWaiters() {
			b.clk.Step(250 * time.Millisecond)
		} else {
			time.Sleep(20 * time.Microsecond) // let the command reach its next timer
		}
	}
}

// runPlain runs a command that must not wait on the clock.
func runPlain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr, func(string) string { return "" })
	return code, stdout.String(), stderr.String()
}

func contains(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, s)
		}
	}
}

// amphorav2 is the quirk: the member stays PENDING_CREATE long after its
// load balancer is ACTIVE again, then turns ONLINE with the heartbeats.
func amphorav2(active, online time.Duration) octaviatest.MemberScript {
	return octaviatest.MemberScript{
		Provisioning: []octaviatest.Step{{Status: "PENDING_CREATE"}, {After: active, Status: "ACTIVE"}},
		Operating:    []octaviatest.Step{{Status: "OFFLINE"}, {After: online, Status: "ONLINE"}},
	}
}
