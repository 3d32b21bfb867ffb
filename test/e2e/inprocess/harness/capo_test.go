package harness

import (
	"context"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	devv1 "sigs.k8s.io/cluster-api/test/infrastructure/docker/api/v1beta2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
)

// capoReturnLimit bounds how long CAPO's member code may take here: its
// waits for the load balancer end within a few seconds against the
// emulator, while a wait for a member that never leaves PENDING_CREATE
// would run CAPO's whole backoff (≈274 s) and fail.
const capoReturnLimit = 30 * time.Second

// returns runs f in the background and hands back its result, so that an
// assertion can bound how long CAPO's code — which takes no context — runs.
func returns(f func() error) <-chan error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	return done
}

// CAPO v0.13's own ReconcileLoadBalancerMember, against the emulator,
// creates the member and reports success while the member is still
// PENDING_CREATE: it waits for the load balancer, never for the member.
// That is the hazard the gate exists for.
func TestCAPOReturnsWhileTheMemberIsPendingCreate(t *testing.T) {
	g := NewWithT(t)
	cloud := newCloud("ns", "c1")
	defer cloud.Server.Close()
	cloud.Server.ScriptMembers(octaviatest.MemberMatch{}, StuckPending())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	key := types.NamespacedName{Namespace: "ns", Name: "c1"}
	svc, err := cloud.capoService(ctx, logr.Discard())
	g.Expect(err).NotTo(HaveOccurred())
	dm := &devv1.DevMachine{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c1-abcde", UID: "uid-1"}}
	reconcile := func() error {
		return svc.ReconcileLoadBalancerMember(cloud.openStackCluster(key), openStackMachine(dm), clusterResourceName("ns", "c1"), addressOf(dm))
	}

	g.Eventually(returns(reconcile)).WithTimeout(capoReturnLimit).Should(Receive(BeNil()))
	members := (&Cluster{Cloud: cloud}).members()
	// The name the harness looks members up by is the one CAPO gave.
	m, ok := members[MemberName(LoadBalancerName("ns", "c1"), APIServerPort, "c1-abcde")]
	g.Expect(ok).To(BeTrue(), "members: %v", members)
	g.Expect(m.Provisioning).To(Equal("PENDING_CREATE"), "CAPO ≤ v0.13 does not wait for the member")
	g.Expect(m.Serving()).To(BeFalse())
	got, _ := cloud.Server.Member(m.ID)
	g.Expect(got.Address).To(Equal(addressOf(dm)))
	g.Expect(got.ProtocolPort).To(Equal(APIServerPort))

	reqs := cloud.Server.Requests()
	g.Expect(reqs[octaviatest.OpCreateMember]).To(Equal(1))
	g.Expect(reqs[octaviatest.OpListPools]).To(Equal(1))
	g.Expect(reqs[octaviatest.OpListMembers]).To(Equal(1))
	g.Expect(reqs[octaviatest.OpGetLoadBalancer]).To(BeNumerically(">=", 2), "a wait before and after the create")
	g.Expect(reqs[octaviatest.OpGetMember]).To(BeZero(), "CAPO never looks at the member it created")
	// Rollout's accounting counts all of these as CAPO's, none as the gate's.
	for op := range reqs {
		g.Expect(GateOperation(op)).To(BeFalse(), "CAPO sent %s", op)
	}

	// Again: the member exists with the same address, so CAPO lists the
	// pool and the member and changes nothing.
	cloud.Server.ResetCounters()
	g.Eventually(returns(reconcile)).WithTimeout(capoReturnLimit).Should(Receive(BeNil()))
	g.Expect(cloud.Server.RequestCount(octaviatest.OpCreateMember)).To(BeZero())
	g.Expect(cloud.Server.TotalRequests()).To(Equal(2))
}

// The stand-in, driven as its controller would drive it, adds the member
// of a provisioned control-plane machine through CAPO's code, returns with
// the member still PENDING_CREATE, and on deletion has CAPO remove the
// member before it lets the machine go.
func TestStandInAddsAndRemovesTheMemberThroughCAPO(t *testing.T) {
	g := NewWithT(t)
	cloud := newCloud("ns", "c1")
	defer cloud.Server.Close()
	cloud.Server.ScriptMembers(octaviatest.MemberMatch{}, StuckPending())
	cs := &clouds{}
	cs.add(types.NamespacedName{Namespace: "ns", Name: "c1"}, cloud)
	dm := &devv1.DevMachine{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c1-abcde", UID: "uid-1",
		Labels: map[string]string{clusterv1.ClusterNameLabel: "c1", clusterv1.MachineControlPlaneLabel: ""}}}
	dm.Status.Initialization.Provisioned = ptr.To(true)
	c := fake.NewClientBuilder().WithScheme(newScheme()).WithObjects(dm).Build()
	r := &capoStandIn{client: c, clouds: cs}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(dm)}
	reconcile := func() error { _, err := r.Reconcile(ctx, req); return err }
	name := MemberName(LoadBalancerName("ns", "c1"), APIServerPort, "c1-abcde")
	members := func() map[string]MemberView { return (&Cluster{Cloud: cloud}).members() }

	// First the finalizer, and nothing in Octavia yet.
	g.Expect(reconcile()).To(Succeed())
	g.Expect(c.Get(ctx, req.NamespacedName, dm)).To(Succeed())
	g.Expect(dm.Finalizers).To(ContainElement(memberFinalizer))
	g.Expect(cloud.Server.TotalRequests()).To(BeZero())

	g.Eventually(returns(reconcile)).WithTimeout(capoReturnLimit).Should(Receive(BeNil()))
	g.Expect(members()).To(HaveKeyWithValue(name, HaveField("Provisioning", "PENDING_CREATE")))

	// Deleting: CAPO removes the member, still PENDING_CREATE (the
	// emulator, as Octavia, checks only the load balancer tree's state),
	// then the finalizer goes.
	g.Expect(c.Delete(ctx, dm)).To(Succeed())
	g.Eventually(returns(reconcile)).WithTimeout(capoReturnLimit).Should(Receive(BeNil()))
	g.Expect(cloud.Server.RequestCount(octaviatest.OpDeleteMember)).To(Equal(1))
	g.Eventually(members).WithTimeout(5 * time.Second).Should(BeEmpty())
	g.Expect(c.Get(ctx, req.NamespacedName, dm)).NotTo(Succeed(), "the finalizer is gone, so is the machine")
}

// CAPO's clients take no context, yet a reconcile blocked in CAPO's wait
// for a load balancer that stays PENDING_UPDATE ends soon after its
// context does, rather than after CAPO's ≈274 s backoff: the manager can
// stop.
func TestCAPOWaitEndsWithTheReconcileContext(t *testing.T) {
	g := NewWithT(t)
	cloud := newCloud("ns", "c1")
	defer cloud.Server.Close()
	g.Expect(cloud.Server.SetLoadBalancerStatus(cloud.LoadBalancerID, "PENDING_UPDATE", "ONLINE")).To(Succeed())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc, err := cloud.capoService(ctx, logr.Discard())
	g.Expect(err).NotTo(HaveOccurred())
	dm := &devv1.DevMachine{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c1-abcde", UID: "uid-1"}}
	done := returns(func() error {
		return svc.ReconcileLoadBalancerMember(cloud.openStackCluster(types.NamespacedName{Namespace: "ns", Name: "c1"}),
			openStackMachine(dm), clusterResourceName("ns", "c1"), addressOf(dm))
	})
	// CAPO is waiting: it has polled the load balancer and not created.
	g.Eventually(func() int { return cloud.Server.RequestCount(octaviatest.OpGetLoadBalancer) }).WithTimeout(10 * time.Second).Should(BeNumerically(">=", 2))
	g.Consistently(done).WithTimeout(time.Second).ShouldNot(Receive())
	cancel()
	g.Eventually(done).WithTimeout(capoReturnLimit).Should(Receive(MatchError(context.Canceled)))
	g.Expect(cloud.Server.RequestCount(octaviatest.OpCreateMember)).To(BeZero())
}

// A control-plane machine deleted before it had a member is no error.
func TestCAPODeletesNoMemberThatWasNeverCreated(t *testing.T) {
	g := NewWithT(t)
	cloud := newCloud("ns", "c1")
	defer cloud.Server.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	svc, err := cloud.capoService(ctx, logr.Discard())
	g.Expect(err).NotTo(HaveOccurred())
	dm := &devv1.DevMachine{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c1-other"}}
	g.Expect(svc.DeleteLoadBalancerMember(cloud.openStackCluster(types.NamespacedName{Namespace: "ns", Name: "c1"}),
		openStackMachine(dm), clusterResourceName("ns", "c1"))).To(Succeed())
	g.Expect(cloud.Server.RequestCount(octaviatest.OpListLoadBalancers)).To(Equal(1), "CAPO finds the load balancer by name")
	g.Expect(cloud.Server.RequestCount(octaviatest.OpDeleteMember)).To(BeZero())
}

func TestNamesAreCAPOs(t *testing.T) {
	g := NewWithT(t)
	g.Expect(LoadBalancerName("default", "prod")).To(Equal("k8s-clusterapi-cluster-default-prod-kubeapi"))
	g.Expect(MemberName(LoadBalancerName("default", "prod"), 6443, "prod-cp-x7k2p")).
		To(Equal("k8s-clusterapi-cluster-default-prod-kubeapi-6443-prod-cp-x7k2p"))
}
