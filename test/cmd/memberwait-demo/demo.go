package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	"github.com/membergate/membergate/internal/waitreport"
	"github.com/membergate/membergate/pkg/memberwait"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
	"github.com/membergate/membergate/pkg/memberwait/vclock"
)

// The demo's scenario: a CAPI control-plane rollout on CAPO, where the
// load balancer is CAPO's API server load balancer and the new member is the
// new control-plane Machine's.
const (
	demoLBName        = "k8s-clusterapi-cluster-default-demo-kubeapi"
	demoPort          = 6443
	demoNewMachine    = "demo-control-plane-w4z9m"
	demoNewAddress    = "10.6.0.13"
	demoActiveAfter   = 20 * time.Second      // amphorav2: PENDING_CREATE this long after the create
	demoOnlineAfter   = 30 * time.Second      // the heartbeat that first reports ONLINE
	demoLBPollEvery   = 50 * time.Millisecond // fine enough to time the LB's 0.7 s
	demoLBOnlyWaiter  = "LB-only"
	demoMemberwaitTag = "memberwait"
)

var demoOldMembers = []struct{ machine, address string }{
	{"demo-control-plane-5hv2k", "10.6.0.11"},
	{"demo-control-plane-qx8tn", "10.6.0.12"},
}

// demoRun is one run of the demo and what it saw.
type demoRun struct {
	cfg       config
	clk       *vclock.Clock
	realStart time.Time
	// out is nil in JSON mode. The two waiters write to it only through
	// eventAt, under mu.
	out io.Writer

	lb       waitreport.LoadBalancer
	member   pools.Member
	t0       time.Time // virtual time of the member create
	poller   *memberwait.Poller
	realTook time.Duration

	mu                   sync.Mutex
	events               []demoEvent
	lbActiveAt           *time.Duration
	memberAtLBActive     string
	memberActiveAt       *time.Duration
	memberOnlineAt       *time.Duration
	memberwaitReturnedAt *time.Duration
	lbOnlyRequests       int
}

// demoEvent is one line of the timeline.
type demoEvent struct {
	T      float64 `json:"t"`
	Source string  `json:"source"`
	Text   string  `json:"text"`
}

// event records a timeline line at the current virtual time and prints it
// in text mode.
func (d *demoRun) event(source, format string, args ...any) {
	d.eventAt(d.clk.Since(d.t0), source, fmt.Sprintf(format, args...))
}

func (d *demoRun) eventAt(t time.Duration, source, text string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	// Rounded once, so the timeline, the summary and the JSON agree.
	secs := tenths(t)
	d.events = append(d.events, demoEvent{T: secs, Source: source, Text: text})
	if d.out != nil {
		fmt.Fprintf(d.out, "[%6.1fs] %-10s  %s\n", secs, source, text)
	}
}

func (d *demoRun) printf(format string, args ...any) {
	if d.out != nil {
		fmt.Fprintf(d.out, format, args...)
	}
}

func (d *demoRun) run(ctx context.Context) error {
	defer func() { d.realTook = time.Since(d.realStart) }()
	srv := octaviatest.NewServer(octaviatest.Options{Clock: d.clk, Seed: 1})
	defer srv.Close()
	sc := srv.ServiceClient()
	seeded := d.seed(srv)
	poolID := seeded.PoolIDs[0]
	srv.ScriptMembers(octaviatest.MemberMatch{PoolID: poolID, Address: demoNewAddress}, octaviatest.MemberScript{
		Provisioning: []octaviatest.Step{{Status: memberwait.StatusPendingCreate}, {After: demoActiveAfter, Status: memberwait.StatusActive}},
		Operating:    []octaviatest.Step{{Status: memberwait.StatusOffline}, {After: demoOnlineAfter, Status: memberwait.StatusOnline}},
	})

	// CAPO reads the load balancer before it adds a member; this also opens
	// the connection, whose setup would otherwise blur t=0 at high speeds.
	if _, err := loadbalancers.Get(ctx, sc, d.lb.ID).Extract(); err != nil {
		return fmt.Errorf("reading the load balancer: %w", err)
	}

	// The create, as CAPO sends it for a new control-plane Machine.
	d.t0 = d.clk.Now()
	name := fmt.Sprintf("%s-%d-%s", demoLBName, demoPort, demoNewMachine)
	m, err := pools.CreateMember(ctx, sc, poolID, pools.CreateMemberOpts{Name: name, Address: demoNewAddress, ProtocolPort: demoPort}).Extract()
	if err != nil {
		return fmt.Errorf("creating the new member: %w", err)
	}
	d.member = *m
	d.event("CAPO", "POST member %s %s:%d for the new Machine: %s/%s", waitreport.ShortID(m.ID), demoNewAddress, demoPort, m.ProvisioningStatus, m.OperatingStatus)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		d.lbOnlyWaiter(ctx, sc, poolID)
	}()
	err = d.memberwait(ctx, sc)
	cancel()
	wg.Wait()
	return err
}

// seed creates the cluster's load balancer as CAPO leaves it before the
// rollout: the old control plane's members serving.
func (d *demoRun) seed(srv *octaviatest.Server) octaviatest.Seeded {
	var members []octaviatest.MemberSpec
	for _, o := range demoOldMembers {
		members = append(members, octaviatest.MemberSpec{Name: fmt.Sprintf("%s-%d-%s", demoLBName, demoPort, o.machine),
			Address: o.address, OperatingStatus: memberwait.StatusOnline})
	}
	seeded := srv.Seed(octaviatest.LoadBalancerSpec{Name: demoLBName, Listeners: []octaviatest.ListenerSpec{{
		Name: fmt.Sprintf("%s-%d", demoLBName, demoPort), Protocol: "TCP", Port: demoPort,
		Pool: &octaviatest.PoolSpec{Name: fmt.Sprintf("%s-%d", demoLBName, demoPort), Protocol: "TCP",
			Monitor: &octaviatest.MonitorSpec{Type: "TCP", Delay: 10, Timeout: 5, MaxRetries: 5, MaxRetriesDown: 3},
			Members: members},
	}}})
	d.lb = waitreport.LoadBalancer{ID: seeded.LoadBalancerID, Name: demoLBName}

	d.printf("memberwait-demo: a control-plane rollout behind an amphorav2 load balancer\n")
	d.printf("(embedded Octavia emulator; times are virtual seconds at %v× speed)\n\n", d.cfg.speed)
	d.printf("load balancer %s (%s)\n", demoLBName, seeded.LoadBalancerID)
	d.printf("  listener TCP:%d -> pool with a TCP health monitor (delay 10s, timeout 5s, max_retries 5, max_retries_down 3)\n", demoPort)
	for i, o := range demoOldMembers {
		d.printf("  old control plane: member %s of Machine %s, %s:%d, ACTIVE/ONLINE\n", waitreport.ShortID(seeded.MemberIDs[0][i]), o.machine, o.address, demoPort)
	}
	d.printf("the new member is scripted like amphorav2: PENDING_CREATE until %s, then ACTIVE;\n", demoActiveAfter)
	d.printf("OFFLINE until the heartbeats report ONLINE at %s.\n\n", demoOnlineAfter)
	return seeded
}

// lbOnlyWaiter does what CAPO up to v0.13 does after adding a member: wait
// for the load balancer to be ACTIVE, then go on. It looks at the member
// once at that moment, to show what going on means.
func (d *demoRun) lbOnlyWaiter(ctx context.Context, sc *gophercloud.ServiceClient, poolID string) {
	last := ""
	for {
		lb, err := loadbalancers.Get(ctx, sc, d.lb.ID).Extract()
		d.mu.Lock()
		d.lbOnlyRequests++
		d.mu.Unlock()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			d.event(demoLBOnlyWaiter, "GET load balancer: %v", err)
		case lb.ProvisioningStatus == memberwait.StatusActive:
			at := d.clk.Since(d.t0)
			status := "unknown"
			if m, err := pools.GetMember(ctx, sc, poolID, d.member.ID).Extract(); err == nil {
				status = m.ProvisioningStatus
			}
			d.mu.Lock()
			d.lbOnlyRequests++
			d.lbActiveAt, d.memberAtLBActive = &at, status
			d.mu.Unlock()
			d.eventAt(at, demoLBOnlyWaiter, fmt.Sprintf("LB ACTIVE at t=%.1fs: CAPO would go on now; the new member is %s", tenths(at), status))
			d.eventAt(at, demoLBOnlyWaiter, "(next, KubeadmControlPlane deletes an old control-plane Machine, and its serving member)")
			return
		case lb.ProvisioningStatus != last:
			last = lb.ProvisioningStatus
			d.event(demoLBOnlyWaiter, "load balancer %s (the member create locks it)", lb.ProvisioningStatus)
		}
		t := d.clk.NewTimer(demoLBPollEvery)
		select {
		case <-t.C():
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}

// memberwait waits for the new member the way "membergate wait" does.
func (d *demoRun) memberwait(ctx context.Context, sc *gophercloud.ServiceClient) error {
	p := waitreport.NewProgress(d.clk, d.t0, func(elapsed time.Duration, line string) { d.eventAt(elapsed, demoMemberwaitTag, line) })
	d.poller = memberwait.NewPoller(memberwait.StatusTree(sc), d.clk)
	_, err := d.poller.Wait(ctx, d.lb.ID, []memberwait.Selector{{ID: d.member.ID}}, memberwait.Options{
		Target: memberwait.Serving, // with the default settle window
		Clock:  d.clk,
		OnUpdate: func(u memberwait.Update) {
			d.noteFirsts(u.Verdict)
			p.Update(u)
		},
	})
	at := d.clk.Since(d.t0)
	d.mu.Lock()
	d.memberwaitReturnedAt = &at
	d.mu.Unlock()
	if err == nil {
		d.eventAt(at, demoMemberwaitTag, fmt.Sprintf("returned: the member serves (ACTIVE/ONLINE held for the %s settle window)", memberwait.DefaultSettleWindow))
	}
	return err
}

// noteFirsts records when memberwait first saw the member ACTIVE and ONLINE.
func (d *demoRun) noteFirsts(v memberwait.Verdict) {
	if v.Member == nil {
		return
	}
	at := v.Progress.Since.Sub(d.t0)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.memberActiveAt == nil && v.Member.ProvisioningStatus == memberwait.StatusActive {
		d.memberActiveAt = &at
	}
	if d.memberOnlineAt == nil && v.Member.OperatingStatus == memberwait.StatusOnline {
		d.memberOnlineAt = &at
	}
}
