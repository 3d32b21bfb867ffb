package octaviatest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
)

// The amphorav2 quirk: the load balancer is ACTIVE again 0.7 s after a member
// create while the new member stays PENDING_CREATE for 45 s. A waiter that
// only watches the load balancer would call the member ready far too early.
func ExampleServer_ScriptMembers() {
	clk := clocktesting.NewFakeClock(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	srv := octaviatest.NewServer(octaviatest.Options{Clock: clk})
	defer srv.Close()

	seeded := srv.Seed(octaviatest.LoadBalancerSpec{
		Name: "k8s-api",
		Listeners: []octaviatest.ListenerSpec{{Port: 6443, Pool: &octaviatest.PoolSpec{
			Members: []octaviatest.MemberSpec{{Name: "cp-0", Address: "10.0.0.10"}},
		}}},
	})
	srv.ScriptMembers(octaviatest.MemberMatch{Address: "10.0.0.11"}, octaviatest.MemberScript{
		Provisioning: []octaviatest.Step{
			{After: 0, Status: "PENDING_CREATE"},
			{After: 45 * time.Second, Status: "ACTIVE"},
		},
	})

	ctx, client, poolID := context.Background(), srv.ServiceClient(), seeded.PoolIDs[0]
	m, err := pools.CreateMember(ctx, client, poolID, pools.CreateMemberOpts{
		Name: "cp-1", Address: "10.0.0.11", ProtocolPort: 6443,
	}).Extract()
	if err != nil {
		panic(err)
	}
	var elapsed time.Duration
	for _, step := range []time.Duration{0, 700 * time.Millisecond, 44 * time.Second, 300 * time.Millisecond} {
		clk.Step(step)
		elapsed += step
		lb, _ := loadbalancers.Get(ctx, client, seeded.LoadBalancerID).Extract()
		member, _ := pools.GetMember(ctx, client, poolID, m.ID).Extract()
		fmt.Printf("%-6v load balancer %-14s member %s/%s\n", elapsed, lb.ProvisioningStatus,
			member.ProvisioningStatus, member.OperatingStatus)
	}
	fmt.Println("status tree requests:", srv.RequestCount(octaviatest.OpGetLoadBalancerStatus))
	// Output:
	// 0s     load balancer PENDING_UPDATE member PENDING_CREATE/NO_MONITOR
	// 700ms  load balancer ACTIVE         member PENDING_CREATE/NO_MONITOR
	// 44.7s  load balancer ACTIVE         member PENDING_CREATE/NO_MONITOR
	// 45s    load balancer ACTIVE         member ACTIVE/NO_MONITOR
	// status tree requests: 0
}
