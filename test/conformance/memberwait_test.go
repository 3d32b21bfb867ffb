package conformance

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/listeners"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/monitors"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	"github.com/membergate/membergate/pkg/memberwait"
)

// memberwait end to end: the library against real Octavia with faults
// injected where they really happen — rows in Octavia's database, a stopped
// worker, a stopped API, amphora heartbeats. The scenarios that the emulator
// can reproduce (a row UPDATE is its SetMemberStatus) run on both; the
// emulator runs on the real clock here, because memberwait waits on its own.
// Each test polls for conditions with deadlines and never sleeps to prove
// a timing.

// waitBackends runs f on a real-clock emulator and on real Octavia.
func waitBackends(t *testing.T, f func(t *testing.T, b *backend)) {
	t.Run("emulator", func(t *testing.T) { f(t, newRealtimeEmulatorBackend(t)) })
	t.Run("octavia", func(t *testing.T) { f(t, newOctaviaBackend(t)) })
}

// quick polls often: the scenarios last seconds, and the default backoff
// (1 s growing to 10 s) would stretch them for nothing.
func quick(target memberwait.Target) memberwait.Options {
	return memberwait.Options{
		Target:        target,
		Backoff:       memberwait.Backoff{Initial: 100 * time.Millisecond, Max: 400 * time.Millisecond},
		OnlineWatch:   -1,
		NotFoundGrace: 5 * time.Second,
		Timeout:       90 * time.Second,
	}
}

// buildTree builds load balancer → listener → pool (→ TCP monitor) and waits
// for all of it to be ACTIVE; it returns the load balancer and pool IDs.
func buildTree(t *testing.T, b *backend, withMonitor bool) (lbID, poolID string) {
	t.Helper()
	return buildTreeOn(t, b, vipSubnet, withMonitor)
}

// buildTreeOn is buildTree with the load balancer's VIP on subnetID.
func buildTreeOn(t *testing.T, b *backend, subnetID string, withMonitor bool) (lbID, poolID string) {
	t.Helper()
	lb, err := loadbalancers.Create(ctx, b.client, loadbalancers.CreateOpts{Name: fmt.Sprintf("memberwait-%d", time.Now().UnixNano()),
		VipSubnetID: subnetID}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if b.real() {
		t.Cleanup(func() { cleanupLB(t, b, lb.ID) })
	}
	waitActive(t, b, lb.ID, "lb")
	l, err := listeners.Create(ctx, b.client, listeners.CreateOpts{LoadbalancerID: lb.ID, Name: "api",
		Protocol: listeners.ProtocolTCP, ProtocolPort: 6443}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	waitActive(t, b, lb.ID, "lb")
	p, err := pools.Create(ctx, b.client, pools.CreateOpts{ListenerID: l.ID, Name: "api", Protocol: pools.ProtocolTCP,
		LBMethod: pools.LBMethodRoundRobin}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	waitActive(t, b, lb.ID, "lb")
	if withMonitor {
		if _, err := monitors.Create(ctx, b.client, monitors.CreateOpts{PoolID: p.ID, Type: "TCP", Delay: 10, Timeout: 5,
			MaxRetries: 5, MaxRetriesDown: 3}).Extract(); err != nil {
			t.Fatal(err)
		}
		waitActive(t, b, lb.ID, "lb")
	}
	return lb.ID, p.ID
}

// waitActive polls the status tree until key reads ACTIVE/…
func waitActive(t *testing.T, b *backend, lbID, key string) {
	t.Helper()
	b.eventually(t, key+" ACTIVE", 30*time.Second, func() (bool, string) {
		v := b.tree(t, lbID).get(key)
		return strings.HasPrefix(v, "ACTIVE/"), v
	})
}

// addMember creates a member and waits until it and its load balancer are
// ACTIVE.
func addMember(t *testing.T, b *backend, lbID, poolID, name, addr string) string {
	t.Helper()
	m, err := pools.CreateMember(ctx, b.client, poolID, pools.CreateMemberOpts{Name: name, Address: addr, ProtocolPort: 6443}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	waitActive(t, b, lbID, "member "+name)
	waitActive(t, b, lbID, "lb")
	return m.ID
}

// waitRun is one memberwait.Wait running in the background, with every
// verdict it reached recorded.
type waitRun struct {
	mu       sync.Mutex
	verdicts []memberwait.Verdict
	done     chan struct{}
	res      memberwait.Result
	err      error
	ended    time.Time
}

func startWait(b *backend, lbID string, m memberwait.Selector, opts memberwait.Options) *waitRun {
	w := &waitRun{done: make(chan struct{})}
	opts.OnUpdate = func(u memberwait.Update) {
		w.mu.Lock()
		w.verdicts = append(w.verdicts, u.Verdict)
		w.mu.Unlock()
	}
	go func() {
		defer close(w.done)
		w.res, w.err = memberwait.Wait(ctx, memberwait.StatusTree(b.client), lbID, m, opts)
		w.ended = time.Now()
	}()
	return w
}

// pendingWith counts pending verdicts whose reason or member statuses
// contain s.
func (w *waitRun) pendingWith(s string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, v := range w.verdicts {
		seen := v.Reason
		if v.Member != nil {
			seen += " " + v.Member.Statuses()
		}
		if v.Outcome == memberwait.Pending && strings.Contains(seen, s) {
			n++
		}
	}
	return n
}

func (w *waitRun) last() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.verdicts) == 0 {
		return "no verdict yet"
	}
	v := w.verdicts[len(w.verdicts)-1]
	return v.Outcome.String() + ": " + v.Reason
}

// pendingFor waits until the wait has judged at least n observations
// pending because of s, failing if it ended instead.
func (w *waitRun) pendingFor(t *testing.T, n int, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for w.pendingWith(s) < n {
		select {
		case <-w.done:
			t.Fatalf("the wait ended (%v, %v) while it should be pending on %q", w.res.Verdict.Outcome, w.err, s)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %d pending verdicts on %q after %s; last: %s", n, s, timeout, w.last())
		}
	}
}

func (w *waitRun) result(t *testing.T, timeout time.Duration) (memberwait.Result, error) {
	t.Helper()
	select {
	case <-w.done:
		return w.res, w.err
	case <-time.After(timeout):
		t.Fatalf("the wait did not end within %s; last: %s", timeout, w.last())
	}
	return memberwait.Result{}, nil
}

// TestMemberwaitStuckPendingCreate: a member stuck in PENDING_CREATE under
// an ACTIVE load balancer (CAPO issue #2763) is never success; when the row
// flips to ACTIVE the wait succeeds.
func TestMemberwaitStuckPendingCreate(t *testing.T) {
	waitBackends(t, func(t *testing.T, b *backend) {
		lbID, poolID := buildTree(t, b, false)
		memberID := addMember(t, b, lbID, poolID, "cp-0", "10.0.1.10")
		b.setMemberStatus(t, memberID, memberwait.StatusPendingCreate, "")
		if got := b.tree(t, lbID); got.get("lb") != activeOffline || got.get("member cp-0") != pendingCreateNoMonitor {
			t.Fatalf("%s: after the UPDATE the tree shows %v, want an ACTIVE load balancer and a PENDING_CREATE member", b.name, got)
		}

		w := startWait(b, lbID, memberwait.Selector{PoolID: poolID, ID: memberID}, quick(memberwait.Provisioned))
		w.pendingFor(t, 5, memberwait.StatusPendingCreate, 20*time.Second)

		b.setMemberStatus(t, memberID, memberwait.StatusActive, "")
		flipped := time.Now()
		res, err := w.result(t, 10*time.Second)
		if err != nil {
			t.Fatalf("%s: wait after the flip: %v", b.name, err)
		}
		if res.Verdict.Outcome != memberwait.Done || res.Verdict.Member.ProvisioningStatus != memberwait.StatusActive {
			t.Fatalf("%s: result %+v, want Done with the member ACTIVE", b.name, res.Verdict)
		}
		report.timing(b.name, "memberwait: row flipped to ACTIVE → Provisioned", w.ended.Sub(flipped))
	})
}

// TestMemberwaitMemberErrorFailsFast: provisioning ERROR (Octavia's revert
// path) fails the wait at the first poll that sees it, with the statuses.
func TestMemberwaitMemberErrorFailsFast(t *testing.T) {
	waitBackends(t, func(t *testing.T, b *backend) {
		lbID, poolID := buildTree(t, b, false)
		memberID := addMember(t, b, lbID, poolID, "cp-0", "10.0.1.10")
		b.setMemberStatus(t, memberID, memberwait.StatusError, "")

		start := time.Now()
		w := startWait(b, lbID, memberwait.Selector{PoolID: poolID, Address: "10.0.1.10", ProtocolPort: 6443}, quick(memberwait.Serving))
		_, err := w.result(t, 10*time.Second)
		var me *memberwait.MemberError
		if !errors.As(err, &me) {
			t.Fatalf("%s: err = %v, want *memberwait.MemberError", b.name, err)
		}
		if me.Member.ID != memberID || me.PoolID != poolID || me.LoadBalancerID != lbID || me.Member.ProvisioningStatus != memberwait.StatusError {
			t.Fatalf("%s: MemberError = %+v", b.name, me)
		}
		if n := len(w.verdicts); n != 1 {
			t.Errorf("%s: failed after %d evaluations, want the first", b.name, n)
		}
		report.timing(b.name, "memberwait: member ERROR → *MemberError", time.Since(start))
	})
}

// TestMemberwaitWorkerStopped: without the worker the member and its
// parents stay PENDING_*; the wait waits, and completes once the worker is
// back and has done the queued work.
func TestMemberwaitWorkerStopped(t *testing.T) {
	b := newOctaviaBackend(t)
	lbID, poolID := buildTree(t, b, false)
	b.stopWorker(t)
	m, err := pools.CreateMember(ctx, b.client, poolID, pools.CreateMemberOpts{Name: "cp-0", Address: "10.0.1.10", ProtocolPort: 6443}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	w := startWait(b, lbID, memberwait.Selector{PoolID: poolID, ID: m.ID}, quick(memberwait.Provisioned))
	w.pendingFor(t, 8, memberwait.StatusPendingCreate, 20*time.Second)
	if got := b.tree(t, lbID).get("lb"); got != pendingUpdateOffline {
		t.Fatalf("load balancer with the worker stopped = %s, want %s", got, pendingUpdateOffline)
	}

	started := time.Now()
	b.startWorker(t)
	res, err := w.result(t, 30*time.Second)
	if err != nil || res.Verdict.Member.ProvisioningStatus != memberwait.StatusActive {
		t.Fatalf("wait after the worker restart: %v %+v", err, res.Verdict)
	}
	report.timing(b.name, "memberwait: octavia-worker start → Provisioned (work queued in RabbitMQ)", w.ended.Sub(started))
}

// TestMemberwaitAPIStopped: with octavia-api gone mid-wait every poll is a
// transport error, which memberwait retries; once the API is back it
// observes the member and completes.
func TestMemberwaitAPIStopped(t *testing.T) {
	b := newOctaviaBackend(t)
	lbID, poolID := buildTree(t, b, false)
	memberID := addMember(t, b, lbID, poolID, "cp-0", "10.0.1.10")
	b.setMemberStatus(t, memberID, memberwait.StatusPendingCreate, "")

	w := startWait(b, lbID, memberwait.Selector{PoolID: poolID, ID: memberID}, quick(memberwait.Provisioned))
	w.pendingFor(t, 2, memberwait.StatusPendingCreate, 20*time.Second)
	b.stack.ctl(t, "stop", "octavia-api")
	t.Cleanup(func() { b.stack.ensureRunning(t, "octavia-api") })
	// "connection refused" is how a stopped API looks from here.
	w.pendingFor(t, 3, "connection refused", 20*time.Second)

	b.setMemberStatus(t, memberID, memberwait.StatusActive, "")
	started := time.Now()
	b.stack.ctl(t, "start", "octavia-api")
	res, err := w.result(t, 30*time.Second)
	if err != nil || res.Verdict.Member.ProvisioningStatus != memberwait.StatusActive {
		t.Fatalf("wait after the API restart: %v %+v", err, res.Verdict)
	}
	report.timing(b.name, "memberwait: octavia-api start → Provisioned", w.ended.Sub(started))
}
