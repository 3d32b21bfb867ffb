package memberwait_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"

	"github.com/membergate/membergate/pkg/memberwait"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
	"github.com/membergate/membergate/pkg/memberwait/vclock"
)

// exampleCloud is an emulated Octavia on a virtual clock that jumps ahead
// whenever the example is waiting, so that minutes pass in microseconds.
func exampleCloud() (*octaviatest.Server, *vclock.Clock, octaviatest.Seeded, func()) {
	clk := vclock.New(start)
	octa := octaviatest.NewServer(octaviatest.Options{Clock: clk})
	seeded := octa.Seed(octaviatest.LoadBalancerSpec{Name: "kubeapi", Listeners: []octaviatest.ListenerSpec{{Port: 6443,
		Pool: &octaviatest.PoolSpec{Monitor: &octaviatest.MonitorSpec{Type: "TCP", Delay: 10, Timeout: 5, MaxRetries: 5, MaxRetriesDown: 3}}}}})
	stop := make(chan struct{})
	go clk.Drive(1, stop)
	return octa, clk, seeded, func() { close(stop); octa.Close() }
}

// Wait for a new member to serve, on a load balancer with the amphorav2
// quirk: the load balancer is ACTIVE within a second, the member only at
// 45 s, and ONLINE at 55 s.
func ExampleWait() {
	octa, clk, lb, done := exampleCloud()
	defer done()
	octa.ScriptMembers(octaviatest.MemberMatch{Name: "cp-new"}, octaviatest.MemberScript{
		Provisioning: []octaviatest.Step{{After: 0, Status: "PENDING_CREATE"}, {After: 45 * time.Second, Status: "ACTIVE"}},
		Operating:    []octaviatest.Step{{After: 0, Status: "OFFLINE"}, {After: 55 * time.Second, Status: "ONLINE"}},
	})
	client := octa.ServiceClient()
	m, err := pools.CreateMember(context.Background(), client, lb.PoolIDs[0], pools.CreateMemberOpts{Name: "cp-new", Address: "10.0.0.12", ProtocolPort: 6443}).Extract()
	if err != nil {
		panic(err)
	}

	res, err := memberwait.Wait(context.Background(), memberwait.StatusTree(client), lb.LoadBalancerID,
		memberwait.Selector{PoolID: lb.PoolIDs[0], ID: m.ID},
		memberwait.Options{Target: memberwait.Serving, SettleWindow: 30 * time.Second, Clock: clk})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Verdict.Outcome, res.Verdict.Member.Statuses())
	fmt.Println("serving for the settle window by", res.Verdict.At.Sub(start) >= 85*time.Second)
	// Output:
	// Done ACTIVE/ONLINE
	// serving for the settle window by true
}

// A member that Octavia fails to provision fails the wait at once, with a
// typed error that says where.
func ExampleMemberError() {
	octa, clk, lb, done := exampleCloud()
	defer done()
	octa.ScriptMembers(octaviatest.MemberMatch{}, octaviatest.MemberScript{
		Provisioning: []octaviatest.Step{{After: 0, Status: "PENDING_CREATE"}, {After: 5 * time.Second, Status: "ERROR"}},
	})
	client := octa.ServiceClient()
	_, err := pools.CreateMember(context.Background(), client, lb.PoolIDs[0], pools.CreateMemberOpts{Name: "cp-new", Address: "10.0.0.12", ProtocolPort: 6443}).Extract()
	if err != nil {
		panic(err)
	}
	_, err = memberwait.Wait(context.Background(), memberwait.StatusTree(client), lb.LoadBalancerID,
		memberwait.Selector{Address: "10.0.0.12", ProtocolPort: 6443}, memberwait.Options{Clock: clk})
	var me *memberwait.MemberError
	if errors.As(err, &me) {
		fmt.Println("failed:", me.Member.Statuses())
	}
	// Output:
	// failed: ERROR/OFFLINE
}

// Check is the shape for controllers: one request, a verdict per member,
// and when to look again. Persist each Verdict.Progress between reconciles.
func ExampleCheck() {
	octa, clk, lb, done := exampleCloud()
	defer done()
	client := octa.ServiceClient()
	m, err := pools.CreateMember(context.Background(), client, lb.PoolIDs[0], pools.CreateMemberOpts{Name: "cp-new", Address: "10.0.0.12", ProtocolPort: 6443}).Extract()
	if err != nil {
		panic(err)
	}
	verdicts := memberwait.Check(context.Background(), memberwait.StatusTree(client), lb.LoadBalancerID,
		[]memberwait.Selector{{ID: m.ID}}, memberwait.Options{Target: memberwait.Provisioned, Clock: clk}, nil)
	after, pending := memberwait.RetryAfter(verdicts)
	fmt.Println(verdicts[0].Outcome, verdicts[0].Reason, pending, after > 0)
	// Output:
	// Pending member PENDING_CREATE/OFFLINE true true
}

// Many waits on one load balancer share one Poller and so one request per
// poll.
func ExamplePoller() {
	octa, clk, lb, done := exampleCloud()
	defer done()
	client := octa.ServiceClient()
	var members []memberwait.Selector
	for i := 0; i < 3; i++ {
		m, err := pools.CreateMember(context.Background(), client, lb.PoolIDs[0], pools.CreateMemberOpts{Address: fmt.Sprintf("10.0.0.%d", 20+i), ProtocolPort: 6443}).Extract()
		if err != nil {
			panic(err)
		}
		members = append(members, memberwait.Selector{ID: m.ID})
		clk.Sleep(time.Second) // the LB is PENDING_UPDATE while a member is added
	}
	octa.ResetCounters()
	p := memberwait.NewPoller(memberwait.StatusTree(client), clk)
	results, err := p.Wait(context.Background(), lb.LoadBalancerID, members, memberwait.Options{Target: memberwait.Provisioned})
	fmt.Println(len(results), err, p.Stats().Polls == octa.TotalRequests())
	// Output:
	// 3 <nil> true
}

// The settle window Auto derives from a pool's health monitor: fast,
// CAPO's default and slow monitors on amphorae (10 s heartbeat), and the
// slow one on OVN, which has no heartbeat.
func ExampleAutoSettleWindow() {
	for _, m := range []struct {
		provider                string
		delay, timeout, retries int
	}{{"amphora", 5, 3, 2}, {"amphora", 10, 5, 3}, {"amphora", 30, 10, 3}, {"ovn", 30, 10, 3}} {
		hm := memberwait.HealthMonitor{Delay: time.Duration(m.delay) * time.Second, Timeout: time.Duration(m.timeout) * time.Second, MaxRetriesDown: m.retries}
		fmt.Printf("%s %d/%d/%d: %s\n", m.provider, m.delay, m.timeout, m.retries, memberwait.AutoSettleWindow(hm, m.provider, memberwait.DefaultHeartbeat))
	}
	// Output:
	// amphora 5/3/2: 28s
	// amphora 10/5/3: 50s
	// amphora 30/10/3: 1m55s
	// ovn 30/10/3: 2m5s
}
