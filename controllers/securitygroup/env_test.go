package securitygroup

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	. "github.com/onsi/gomega"
	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	infrav1 "sigs.k8s.io/cluster-api-provider-openstack/api/v1beta1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/controllers"
	"github.com/membergate/membergate/internal/cloud/scope"
	"github.com/membergate/membergate/internal/testenv"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
	"github.com/membergate/membergate/pkg/neutrontest"
)

var epoch = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// worlds numbers the namespaces, so one test can build several worlds.
var worlds int

const lbName = "k8s-clusterapi-cluster-test-kubeapi"

// world is one CAPO cluster in envtest whose nodes have Neutron ports in
// the emulated Neutron, behind a load balancer in the emulated Octavia
// whose members name their subnet, with the identity Secret pointing at
// both; everything on one fake clock. The gate and the security-group
// reconciler are called directly, so a test decides exactly when they
// look.
type world struct {
	t        *testing.T
	g        Gomega
	ctx      context.Context
	ns       string
	clk      *clocktesting.FakeClock
	recorder *events.FakeRecorder
	octa     *octaviatest.Server
	neutron  *neutrontest.Server
	cluster  *clusterv1.Cluster
	gate     *controllers.GateReconciler
	r        *Reconciler

	lbID, poolID string
	network      string
	subnet       string
	cidr         string
	def          string // the project's default group
	cp           string // a control-plane group, as CAPO's managed groups
	worker       string
	listener     string
	members      []string
}

// options shape a world.
type options struct {
	cidr      string   // the nodes' subnet; default 10.6.0.0/24
	machines  int      // control-plane Machines, each with a member
	workers   int      // worker Machines
	cpGroups  []string // "default", "cp": the groups of the control-plane ports
	operating string   // the members' operating status; default ONLINE
	provider  string
	sg        *v1alpha1.SecurityGroupsSpec // nil: unset (Audit)
}

func newWorld(t *testing.T, o options) *world {
	t.Helper()
	if o.cidr == "" {
		o.cidr = "10.6.0.0/24"
	}
	if o.operating == "" {
		o.operating = "ONLINE"
	}
	w := &world{t: t, g: NewWithT(t), ctx: context.Background(), clk: clocktesting.NewFakeClock(epoch), recorder: events.NewFakeRecorder(1000),
		neutron: neutrontest.NewServer(), cidr: o.cidr}
	w.ns = strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(w.ns) > 50 {
		w.ns = w.ns[:50]
	}
	worlds++
	w.ns = fmt.Sprintf("%s-%d", strings.Trim(w.ns, "-"), worlds)
	w.g.Expect(k8sClient.Create(w.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: w.ns}})).To(Succeed())
	t.Cleanup(w.neutron.Close)
	network, subnets := w.neutron.AddNetwork("nodes", o.cidr)
	w.network, w.subnet = network, subnets[0]
	w.def = w.neutron.DefaultGroup()
	w.cp = w.newGroup("k8s-cluster-test-secgroup-controlplane")
	w.worker = w.newGroup("k8s-cluster-test-secgroup-worker")

	w.octa = octaviatest.NewServer(octaviatest.Options{Clock: w.clk, Users: testenv.Users()})
	t.Cleanup(w.octa.Close)
	pool := &octaviatest.PoolSpec{Name: lbName + "-6443", Monitor: &octaviatest.MonitorSpec{}}
	for i := 0; i < o.machines; i++ {
		pool.Members = append(pool.Members, octaviatest.MemberSpec{Name: fmt.Sprintf("%s-6443-cp-%d", lbName, i), Address: w.addr(i),
			ProtocolPort: 6443, SubnetID: w.subnet, OperatingStatus: o.operating})
	}
	seeded := w.octa.Seed(octaviatest.LoadBalancerSpec{Name: lbName, Provider: o.provider, Listeners: []octaviatest.ListenerSpec{{Port: 6443, Pool: pool}}})
	w.lbID, w.poolID, w.listener, w.members = seeded.LoadBalancerID, seeded.PoolIDs[0], seeded.ListenerIDs[0], seeded.MemberIDs[0]

	// CAPO's identity Secret: the emulated Keystone, whose catalog has
	// Octavia only, and Neutron's endpoint in the cloud.
	w.g.Expect(k8sClient.Create(w.ctx, testenv.IdentitySecret(w.ns, testenv.CloudsYAML(w.octa.KeystoneURL(), w.neutron.URL)))).To(Succeed())
	osc := &infrav1.OpenStackCluster{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "test"},
		Spec: infrav1.OpenStackClusterSpec{IdentityRef: infrav1.OpenStackIdentityReference{Name: testenv.IdentitySecretName, CloudName: testenv.CloudName}}}
	w.g.Expect(k8sClient.Create(w.ctx, osc)).To(Succeed())
	osc.Status.APIServerLoadBalancer = &infrav1.LoadBalancer{Name: lbName, ID: w.lbID, IP: "192.0.2.10", InternalIP: "10.0.0.2"}
	osc.Status.Network = &infrav1.NetworkStatusWithSubnets{NetworkStatus: infrav1.NetworkStatus{ID: w.network, Name: "nodes"}}
	w.g.Expect(k8sClient.Status().Update(w.ctx, osc)).To(Succeed())
	w.cluster = &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "test", Finalizers: []string{"test.membergate.io/keep"}},
		Spec: clusterv1.ClusterSpec{
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.SchemeGroupVersion.Group, Kind: "OpenStackCluster", Name: "test"},
			ControlPlaneRef:   clusterv1.ContractVersionedObjectReference{APIGroup: "controlplane.cluster.x-k8s.io", Kind: "KubeadmControlPlane", Name: "test"},
		}}
	w.g.Expect(k8sClient.Create(w.ctx, w.cluster)).To(Succeed())

	groupsOf := func(names []string) []string {
		var ids []string
		for _, n := range names {
			ids = append(ids, map[string]string{"default": w.def, "cp": w.cp}[n])
		}
		return ids
	}
	for i := 0; i < o.machines; i++ {
		name := fmt.Sprintf("cp-%d", i)
		w.addNode(name, name, w.addr(i), true)
		w.neutron.AddPort(name, w.subnet, w.addr(i), groupsOf(o.cpGroups)...)
	}
	for i := 0; i < o.workers; i++ {
		name, a := fmt.Sprintf("md-%d", i), w.addr(50+i)
		w.addNode(name, name, a, false)
		w.neutron.AddPort(name, w.subnet, a, w.worker)
	}
	mg := &v1alpha1.MemberGate{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "test"},
		Spec: v1alpha1.MemberGateSpec{ClusterName: "test", Mode: v1alpha1.ModeAudit, NoMonitorPolicy: "Fail", SecurityGroups: o.sg}}
	w.g.Expect(k8sClient.Create(w.ctx, mg)).To(Succeed())
	w.gate, w.r = w.reconcilers()
	return w
}

// reconcilers are fresh controllers, as after a restart, sharing the
// identity Secrets and budget as cmd/manager wires them.
func (w *world) reconcilers() (*controllers.GateReconciler, *Reconciler) {
	sources := &scope.SecretSources{Client: k8sClient, Budget: rate.Inf}
	return &controllers.GateReconciler{Client: k8sClient, Recorder: w.recorder, Clock: w.clk, Rand: func() float64 { return 0.5 }, Sources: sources},
		&Reconciler{Client: k8sClient, Recorder: w.recorder, Clock: w.clk, Networks: sources}
}

// reconcile runs the reconcilers as the manager would, one after the other
// on what the other wrote: the gate (it publishes the members), the
// security groups (on those members), and the gate again (it shows their
// diagnoses on the Machines). It returns the soonest requeue asked for.
func (w *world) reconcile() ctrl.Result {
	w.t.Helper()
	req := ctrl.Request{NamespacedName: types.NamespacedName{Namespace: w.ns, Name: "test"}}
	var soonest ctrl.Result
	for _, r := range []reconcile.Reconciler{w.gate, w.r, w.gate} {
		res, err := r.Reconcile(w.ctx, req)
		w.g.Expect(err).NotTo(HaveOccurred())
		if res.RequeueAfter > 0 && (soonest.RequeueAfter == 0 || res.RequeueAfter < soonest.RequeueAfter) {
			soonest = res
		}
	}
	return soonest
}

// run reconciles, stepping the clock by the requested requeue, until cond
// holds or limit of virtual time passes; it returns the virtual time.
func (w *world) run(limit time.Duration, cond func() bool) time.Duration {
	w.t.Helper()
	start := w.clk.Now()
	for {
		res := w.reconcile()
		if cond() {
			return w.clk.Since(start)
		}
		if w.clk.Since(start) > limit {
			w.t.Fatalf("condition not met after %s of virtual time", limit)
		}
		w.clk.Step(res.RequeueAfter)
	}
}

// addNode creates a Machine with a Node and one address.
func (w *world) addNode(name, node, address string, controlPlane bool) {
	labels := map[string]string{clusterv1.ClusterNameLabel: "test"}
	if controlPlane {
		labels[clusterv1.MachineControlPlaneLabel] = ""
	}
	m := &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: name, Labels: labels},
		Spec: clusterv1.MachineSpec{ClusterName: "test", Bootstrap: clusterv1.Bootstrap{DataSecretName: ptr.To("bootstrap")},
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.SchemeGroupVersion.Group, Kind: "OpenStackMachine", Name: name}}}
	w.g.Expect(k8sClient.Create(w.ctx, m)).To(Succeed())
	// A merge patch without a resourceVersion: a running gate may already
	// have patched the new Machine (its hook), and CAPI sets a Machine's
	// status the same way.
	before := m.DeepCopy()
	m.Status.NodeRef = clusterv1.MachineNodeReference{Name: node}
	m.Status.Addresses = clusterv1.MachineAddresses{{Type: clusterv1.MachineInternalIP, Address: address}}
	w.g.Expect(k8sClient.Status().Patch(w.ctx, m, client.MergeFrom(before))).To(Succeed())
}

// addr is the i-th node address in the nodes' subnet.
func (w *world) addr(i int) string {
	base := strings.TrimSuffix(strings.Split(w.cidr, "/")[0], "0")
	if strings.Contains(w.cidr, ":") {
		return fmt.Sprintf("%s%x", strings.TrimSuffix(base, ":")+":", 0x11+i)
	}
	return fmt.Sprintf("%s%d", base, 11+i)
}

func (w *world) newGroup(name string) string {
	g, err := groups.Create(w.ctx, w.neutron.ServiceClient(), groups.CreateOpts{Name: name}).Extract()
	w.g.Expect(err).NotTo(HaveOccurred())
	return g.ID
}

func (w *world) memberGate() *v1alpha1.MemberGate {
	mg := &v1alpha1.MemberGate{}
	w.g.Expect(k8sClient.Get(w.ctx, types.NamespacedName{Namespace: w.ns, Name: "test"}, mg)).To(Succeed())
	return mg
}

// setSG changes the MemberGate's security-group policy.
func (w *world) setSG(sg *v1alpha1.SecurityGroupsSpec) {
	mg := w.memberGate()
	mg.Spec.SecurityGroups = sg
	w.g.Expect(k8sClient.Update(w.ctx, mg)).To(Succeed())
}

// condition is control-plane Machine cp-i's LoadBalancerMemberReady
// condition.
func (w *world) condition(i int) *metav1.Condition {
	m := &clusterv1.Machine{}
	w.g.Expect(k8sClient.Get(w.ctx, types.NamespacedName{Namespace: w.ns, Name: fmt.Sprintf("cp-%d", i)}, m)).To(Succeed())
	return meta.FindStatusCondition(m.Status.Conditions, v1alpha1.MemberReadyCondition)
}

// sgCondition is the MemberGate's SecurityGroupsReady condition.
func (w *world) sgCondition() *metav1.Condition {
	return meta.FindStatusCondition(w.memberGate().Status.Conditions, v1alpha1.SecurityGroupsReadyCondition)
}

// rules returns a group's rules as Neutron has them.
func (w *world) rules(group string) []rules.SecGroupRule {
	g, err := groups.Get(w.ctx, w.neutron.ServiceClient(), group).Extract()
	w.g.Expect(err).NotTo(HaveOccurred())
	return g.Rules
}

// ours returns the rules of a group that this cluster's enforcement owns.
func (w *world) ours(group string) []rules.SecGroupRule {
	var out []rules.SecGroupRule
	for _, r := range w.rules(group) {
		// With or without a management cluster in the mark.
		if mark := "membergate " + w.ns + "/test"; strings.HasPrefix(r.Description, mark+":") || strings.HasPrefix(r.Description, mark+"@") {
			out = append(out, r)
		}
	}
	return out
}

// ruleWrites counts the writes of rules Neutron received.
func (w *world) ruleWrites() int {
	req := w.neutron.Requests()
	return req["POST /v2.0/security-group-rules"] + req["DELETE /v2.0/security-group-rules"]
}

// requestsSince returns the requests Neutron got since before.
func (w *world) requestsSince(before map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range w.neutron.Requests() {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

// events drains the recorded events.
func (w *world) events() []string {
	var out []string
	for {
		select {
		case e := <-w.recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func portRange(r rules.SecGroupRule) string {
	if r.PortRangeMin == r.PortRangeMax {
		return fmt.Sprint(r.PortRangeMin)
	}
	return fmt.Sprintf("%d-%d", r.PortRangeMin, r.PortRangeMax)
}

func clientKey(o client.Object) client.ObjectKey { return client.ObjectKeyFromObject(o) }
