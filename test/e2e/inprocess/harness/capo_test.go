package harness

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
)

// The stand-in must behave as CAPO v0.13 does: it creates the member and
// returns as soon as the load balancer is ACTIVE again, whatever the
// member's own status — the behaviour behind the outage.
func TestStandInAddsTheMemberAndWaitsForTheLoadBalancerOnly(t *testing.T) {
	g := NewWithT(t)
	cloud := newCloud("ns", "c1")
	defer cloud.Server.Close()
	cloud.Server.ScriptMembers(octaviatest.MemberMatch{}, StuckPending())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sc := cloud.Server.ServiceClient()

	g.Expect(reconcileLoadBalancerMember(ctx, sc, cloud.LoadBalancerID, cloud.LoadBalancerName, "c1-abcde", "10.64.0.1")).To(Succeed())
	members := (&Cluster{Cloud: cloud}).members()
	m, ok := members["k8s-clusterapi-cluster-ns-c1-kubeapi-6443-c1-abcde"]
	g.Expect(ok).To(BeTrue(), "members: %v", members)
	g.Expect(m.Provisioning).To(Equal("PENDING_CREATE"), "CAPO ≤ v0.13 does not wait for the member")
	reqs := cloud.Server.Requests()
	g.Expect(reqs[octaviatest.OpCreateMember]).To(Equal(1))
	g.Expect(reqs[octaviatest.OpListPools]).To(Equal(1))
	g.Expect(reqs[octaviatest.OpListMembers]).To(Equal(1))
	g.Expect(reqs[octaviatest.OpGetLoadBalancer]).To(BeNumerically(">=", 2), "a wait before and after the create")
	g.Expect(reqs[octaviatest.OpGetMember]).To(BeZero())
	g.Expect(reqs[octaviatest.OpGetLoadBalancerStatus]).To(BeZero())

	// Again: the member exists with the same address, nothing changes.
	cloud.Server.ResetCounters()
	g.Expect(reconcileLoadBalancerMember(ctx, sc, cloud.LoadBalancerID, cloud.LoadBalancerName, "c1-abcde", "10.64.0.1")).To(Succeed())
	g.Expect(cloud.Server.RequestCount(octaviatest.OpCreateMember)).To(BeZero())
	g.Expect(cloud.Server.TotalRequests()).To(Equal(2))
}

func TestStandInRemovesTheMember(t *testing.T) {
	g := NewWithT(t)
	cloud := newCloud("ns", "c1")
	defer cloud.Server.Close()
	cloud.Server.ScriptMembers(octaviatest.MemberMatch{}, Healthy())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sc := cloud.Server.ServiceClient()
	g.Expect(reconcileLoadBalancerMember(ctx, sc, cloud.LoadBalancerID, cloud.LoadBalancerName, "c1-abcde", "10.64.0.1")).To(Succeed())
	g.Expect(deleteLoadBalancerMember(ctx, sc, cloud.LoadBalancerName, "c1-abcde")).To(Succeed())
	g.Eventually(func() map[string]MemberView { return (&Cluster{Cloud: cloud}).members() }).WithTimeout(5 * time.Second).Should(BeEmpty())
	// A machine without a member (never provisioned) is no error.
	g.Expect(deleteLoadBalancerMember(ctx, sc, cloud.LoadBalancerName, "c1-other")).To(Succeed())
}

func TestNamesAreCAPOs(t *testing.T) {
	g := NewWithT(t)
	g.Expect(LoadBalancerName("default", "prod")).To(Equal("k8s-clusterapi-cluster-default-prod-kubeapi"))
	g.Expect(MemberName(LoadBalancerName("default", "prod"), 6443, "prod-cp-x7k2p")).
		To(Equal("k8s-clusterapi-cluster-default-prod-kubeapi-6443-prod-cp-x7k2p"))
}
