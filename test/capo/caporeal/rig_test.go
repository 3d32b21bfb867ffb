package caporeal

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/listeners"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/monitors"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	. "github.com/onsi/gomega"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
)

// A rig is one Octavia with the two levers the scenarios pull: holding the
// work Octavia has accepted (a member stays PENDING_* for as long as the
// hold lasts) and overwriting statuses, as an UPDATE on Octavia's database
// does. Real Octavia holds by freezing octavia-worker (SIGSTOP: the API
// still accepts changes and the work waits, as in the conformance suite's
// pauseWorker); the emulator holds by not moving its clock.
type rig interface {
	name() string
	// url is Octavia's root, as a service catalog lists it.
	url() string
	project() string
	// client is the test's own view of Octavia, never CAPO's.
	client() *gophercloud.ServiceClient
	// build creates CAPO's API load balancer tree under the given names
	// and returns it once everything is ACTIVE.
	build(t *testing.T, lbName, portName string) tree
	hold(t *testing.T)
	release(t *testing.T)
	setLoadBalancer(t *testing.T, lbID, prov string)
	setMember(t *testing.T, memberID, prov, op string)
}

// tree is what CAPO's ReconcileLoadBalancer would have made.
type tree struct {
	lbID, poolID string
}

// vipSubnet names a subnet only the noop network driver (and the
// emulator) has to accept.
const vipSubnet = "0f6b3a2c-1d4e-4f5a-8b6c-7d8e9f0a1b2c"

// --- the emulator ---------------------------------------------------------

// emulator is octaviatest on a fake clock that a goroutine moves along with
// real time unless the rig holds: CAPO's waits run on real time, Octavia's
// transitions on the emulator's clock, and a hold stops only the latter.
type emulator struct {
	srv  *octaviatest.Server
	clk  *clocktesting.FakeClock
	held atomic.Bool
}

func newEmulator(t *testing.T) *emulator {
	e := &emulator{clk: clocktesting.NewFakeClock(time.Now())}
	e.srv = octaviatest.NewServer(octaviatest.Options{Clock: e.clk, Seed: 1})
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		const tick = 10 * time.Millisecond
		tk := time.NewTicker(tick)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				if !e.held.Load() {
					e.clk.Step(tick)
				}
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		<-done
		e.srv.Close()
	})
	return e
}

func (e *emulator) name() string                       { return "emulator" }
func (e *emulator) url() string                        { return e.srv.Endpoint() }
func (e *emulator) project() string                    { return octaviatest.DefaultProjectID }
func (e *emulator) client() *gophercloud.ServiceClient { return e.srv.ServiceClient() }
func (e *emulator) hold(*testing.T)                    { e.held.Store(true) }
func (e *emulator) release(*testing.T)                 { e.held.Store(false) }

func (e *emulator) build(t *testing.T, lbName, portName string) tree {
	s := e.srv.Seed(octaviatest.LoadBalancerSpec{Name: lbName, Listeners: []octaviatest.ListenerSpec{{
		Name: portName, Port: 6443, Pool: &octaviatest.PoolSpec{Name: portName, Monitor: &octaviatest.MonitorSpec{}},
	}}})
	return tree{lbID: s.LoadBalancerID, poolID: s.PoolIDs[0]}
}

func (e *emulator) setLoadBalancer(t *testing.T, lbID, prov string) {
	NewWithT(t).Expect(e.srv.SetLoadBalancerStatus(lbID, prov, "")).To(Succeed())
}

func (e *emulator) setMember(t *testing.T, memberID, prov, op string) {
	NewWithT(t).Expect(e.srv.SetMemberStatus(memberID, prov, op)).To(Succeed())
}

// --- real Octavia -----------------------------------------------------------

// envFileVar names the env file test/openstack/up.sh wrote; requireVar,
// when set, makes a missing or dead testbed a failure instead of a skip.
const (
	envFileVar = "MEMBERGATE_OPENSTACK_ENV"
	requireVar = "CAPOREAL_REQUIRE_OCTAVIA"
)

type octavia struct {
	vars map[string]string
	sc   *gophercloud.ServiceClient
}

func newOctavia(t *testing.T) *octavia {
	path := os.Getenv(envFileVar)
	vars, err := readEnvFile(path)
	if err == nil {
		// An env file outlives a stopped stack.
		var resp *http.Response
		if resp, err = http.Get(vars["OS_OCTAVIA_ENDPOINT"]); err == nil {
			resp.Body.Close()
		}
	}
	if err != nil {
		msg := fmt.Sprintf("no real Octavia (%s=%q): %v; test/capo/run.sh runs this against the testbed", envFileVar, path, err)
		if os.Getenv(requireVar) != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	o := &octavia{vars: vars}
	// The member user through the testbed's Keystone, Octavia from its
	// catalog: the way CAPO itself reaches Octavia.
	pc, err := openstack.NewClient(vars["OS_AUTH_URL"])
	if err != nil {
		t.Fatal(err)
	}
	pc.HTTPClient = http.Client{Timeout: 60 * time.Second}
	err = openstack.Authenticate(context.Background(), pc, gophercloud.AuthOptions{IdentityEndpoint: vars["OS_AUTH_URL"],
		Username: vars["OS_USERNAME"], Password: vars["OS_PASSWORD"], DomainName: vars["OS_USER_DOMAIN_NAME"], AllowReauth: true,
		Scope: &gophercloud.AuthScope{ProjectName: vars["OS_PROJECT_NAME"], DomainName: vars["OS_PROJECT_DOMAIN_NAME"]}})
	if err != nil {
		t.Fatalf("authenticating with the testbed's Keystone: %v", err)
	}
	if o.sc, err = openstack.NewLoadBalancerV2(pc, gophercloud.EndpointOpts{Region: vars["OS_REGION_NAME"]}); err != nil {
		t.Fatalf("Octavia in the testbed's catalog: %v", err)
	}
	return o
}

func readEnvFile(path string) (map[string]string, error) {
	if path == "" {
		return nil, fmt.Errorf("%s is not set", envFileVar)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "="); ok && !strings.HasPrefix(k, "#") {
			vars[k] = v
		}
	}
	for _, k := range []string{"OS_OCTAVIA_ENDPOINT", "OS_PROJECT_ID", "OS_DB_SOCKET", "OS_DB_USER", "OS_DB_OCTAVIA", "OS_CTL",
		"OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME"} {
		if vars[k] == "" {
			return nil, fmt.Errorf("%s: %s is not set", path, k)
		}
	}
	return vars, sc.Err()
}

func (o *octavia) name() string                       { return "octavia" }
func (o *octavia) url() string                        { return o.vars["OS_OCTAVIA_ENDPOINT"] }
func (o *octavia) project() string                    { return o.vars["OS_PROJECT_ID"] }
func (o *octavia) client() *gophercloud.ServiceClient { return o.sc }

func (o *octavia) ctl(t *testing.T, action string) {
	t.Helper()
	out, err := exec.Command(o.vars["OS_CTL"], action, "octavia-worker").CombinedOutput()
	NewWithT(t).Expect(err).NotTo(HaveOccurred(), "ctl.sh %s octavia-worker: %s", action, out)
}

func (o *octavia) hold(t *testing.T) {
	o.ctl(t, "pause")
	// A failed scenario must not leave the worker frozen for the next.
	t.Cleanup(func() { _ = exec.Command(o.vars["OS_CTL"], "resume", "octavia-worker").Run() })
}

func (o *octavia) release(t *testing.T) { o.ctl(t, "resume") }

// sql runs one statement in Octavia's database: the fault injection the
// API reports on its next GET.
func (o *octavia) sql(t *testing.T, query string, args ...any) {
	t.Helper()
	q := fmt.Sprintf(query, args...)
	out, err := exec.Command("mariadb", "--no-defaults", "--socket="+o.vars["OS_DB_SOCKET"], "-u"+o.vars["OS_DB_USER"],
		"-D", o.vars["OS_DB_OCTAVIA"], "-N", "-B", "-e", q).CombinedOutput()
	NewWithT(t).Expect(err).NotTo(HaveOccurred(), "sql %q: %s", q, out)
}

func (o *octavia) setLoadBalancer(t *testing.T, lbID, prov string) {
	o.sql(t, "UPDATE load_balancer SET provisioning_status='%s' WHERE id='%s'", prov, lbID)
}

func (o *octavia) setMember(t *testing.T, memberID, prov, op string) {
	var sets []string
	if prov != "" {
		sets = append(sets, fmt.Sprintf("provisioning_status='%s'", prov))
	}
	if op != "" {
		sets = append(sets, fmt.Sprintf("operating_status='%s'", op))
	}
	o.sql(t, "UPDATE member SET %s WHERE id='%s'", strings.Join(sets, ", "), memberID)
}

func (o *octavia) build(t *testing.T, lbName, portName string) tree {
	g := NewWithT(t)
	ctx := context.Background()
	lb, err := loadbalancers.Create(ctx, o.sc, loadbalancers.CreateOpts{Name: lbName, VipSubnetID: vipSubnet}).Extract()
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { o.deleteTree(t, lb.ID) })
	o.waitLB(t, lb.ID)
	l, err := listeners.Create(ctx, o.sc, listeners.CreateOpts{LoadbalancerID: lb.ID, Name: portName,
		Protocol: listeners.ProtocolTCP, ProtocolPort: 6443}).Extract()
	g.Expect(err).NotTo(HaveOccurred())
	o.waitLB(t, lb.ID)
	p, err := pools.Create(ctx, o.sc, pools.CreateOpts{ListenerID: l.ID, Name: portName, Protocol: pools.ProtocolTCP,
		LBMethod: pools.LBMethodRoundRobin}).Extract()
	g.Expect(err).NotTo(HaveOccurred())
	o.waitLB(t, lb.ID)
	// CAPO's monitor, with its defaults: members read OFFLINE until a
	// heartbeat says otherwise, as on a real cloud.
	_, err = monitors.Create(ctx, o.sc, monitors.CreateOpts{PoolID: p.ID, Name: portName, Type: "TCP", Delay: 10, Timeout: 5,
		MaxRetries: 5, MaxRetriesDown: 3}).Extract()
	g.Expect(err).NotTo(HaveOccurred())
	o.waitLB(t, lb.ID)
	return tree{lbID: lb.ID, poolID: p.ID}
}

func (o *octavia) waitLB(t *testing.T, lbID string) {
	t.Helper()
	NewWithT(t).Eventually(func() (string, error) {
		lb, err := loadbalancers.Get(context.Background(), o.sc, lbID).Extract()
		if err != nil {
			return "", err
		}
		return lb.ProvisioningStatus, nil
	}, 30*time.Second, 50*time.Millisecond).Should(Equal("ACTIVE"))
}

// deleteTree removes the load balancer and everything under it; 409 means
// the worker is still finishing a change.
func (o *octavia) deleteTree(t *testing.T, lbID string) {
	_ = exec.Command(o.vars["OS_CTL"], "resume", "octavia-worker").Run()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		err := loadbalancers.Delete(context.Background(), o.sc, lbID, loadbalancers.DeleteOpts{Cascade: true}).ExtractErr()
		if err == nil || gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("could not delete load balancer %s", lbID)
}
