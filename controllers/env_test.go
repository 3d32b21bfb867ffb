package controllers

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	. "github.com/onsi/gomega"
	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	infrav1 "sigs.k8s.io/cluster-api-provider-openstack/api/v1beta1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/internal/cloud/scope"
	"github.com/membergate/membergate/internal/testenv"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
)

var epoch = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// worlds numbers the namespaces, so one test can build several worlds.
var worlds int

// world is one CAPO cluster in envtest with its Octavia in the emulator,
// both on one fake clock; reconciles are called directly, so a test decides
// exactly when the controller looks.
type world struct {
	t        *testing.T
	g        Gomega
	ctx      context.Context
	ns       string
	clk      *clocktesting.FakeClock
	octa     *octaviatest.Server
	lbID     string
	poolID   string
	cluster  *clusterv1.Cluster
	recorder *events.FakeRecorder
	r        *GateReconciler
}

const lbName = "k8s-clusterapi-cluster-test-kubeapi"

func newWorld(t *testing.T, machines int) *world {
	t.Helper()
	g := NewWithT(t)
	w := &world{t: t, g: g, ctx: context.Background(), clk: clocktesting.NewFakeClock(epoch), recorder: events.NewFakeRecorder(1000)}
	w.ns = strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(w.ns) > 50 {
		w.ns = w.ns[:50]
	}
	worlds++
	w.ns = fmt.Sprintf("%s-%d", strings.Trim(w.ns, "-"), worlds)
	g.Expect(k8sClient.Create(w.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: w.ns}})).To(Succeed())

	w.octa = octaviatest.NewServer(octaviatest.Options{Clock: w.clk, Users: testenv.Users()})
	t.Cleanup(w.octa.Close)
	pool := &octaviatest.PoolSpec{Name: lbName + "-6443", Monitor: &octaviatest.MonitorSpec{Type: "TCP", Delay: 10, Timeout: 5, MaxRetries: 5, MaxRetriesDown: 3}}
	for i := 0; i < machines; i++ {
		pool.Members = append(pool.Members, octaviatest.MemberSpec{Name: fmt.Sprintf("%s-6443-cp-%d", lbName, i), Address: addr(i), ProtocolPort: 6443, OperatingStatus: "ONLINE"})
	}
	seeded := w.octa.Seed(octaviatest.LoadBalancerSpec{Name: lbName, Listeners: []octaviatest.ListenerSpec{{Port: 6443, Pool: pool}}})
	w.lbID, w.poolID = seeded.LoadBalancerID, seeded.PoolIDs[0]

	// CAPO's identity Secret, authenticating against the emulated Keystone.
	g.Expect(k8sClient.Create(w.ctx, testenv.IdentitySecret(w.ns, testenv.CloudsYAML(w.octa.KeystoneURL(), "")))).To(Succeed())

	osc := &infrav1.OpenStackCluster{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "test"},
		Spec: infrav1.OpenStackClusterSpec{IdentityRef: infrav1.OpenStackIdentityReference{Name: testenv.IdentitySecretName, CloudName: testenv.CloudName}}}
	g.Expect(k8sClient.Create(w.ctx, osc)).To(Succeed())
	osc.Status.APIServerLoadBalancer = &infrav1.LoadBalancer{Name: lbName, ID: w.lbID, IP: "192.0.2.10", InternalIP: "10.0.0.2"}
	g.Expect(k8sClient.Status().Update(w.ctx, osc)).To(Succeed())

	w.cluster = &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "test", Finalizers: []string{"test.membergate.io/keep"}},
		Spec: clusterv1.ClusterSpec{
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.SchemeGroupVersion.Group, Kind: "OpenStackCluster", Name: "test"},
			ControlPlaneRef:   clusterv1.ContractVersionedObjectReference{APIGroup: "controlplane.cluster.x-k8s.io", Kind: "KubeadmControlPlane", Name: "test"},
		}}
	g.Expect(k8sClient.Create(w.ctx, w.cluster)).To(Succeed())
	for i := 0; i < machines; i++ {
		w.addMachine(i)
	}
	w.r = w.reconciler()
	return w
}

// reconciler is a fresh controller, as after a restart.
func (w *world) reconciler() *GateReconciler {
	return &GateReconciler{Client: k8sClient, Recorder: w.recorder, Clock: w.clk, Rand: func() float64 { return 0.5 },
		Sources: &scope.SecretSources{Client: k8sClient, Budget: rate.Inf}}
}

func addr(i int) string { return fmt.Sprintf("10.0.0.%d", 10+i) }

// addMachine creates control-plane Machine cp-i with a Node and its address.
// A finalizer keeps a deleted Machine around, as CAPI's would.
func (w *world) addMachine(i int) {
	w.addNode(fmt.Sprintf("cp-%d", i), fmt.Sprintf("node-%d", i), addr(i), true, "test.membergate.io/keep")
}

// addNode creates a Machine with a Node and one address.
func (w *world) addNode(name, node, address string, controlPlane bool, finalizers ...string) {
	labels := map[string]string{clusterv1.ClusterNameLabel: "test"}
	if controlPlane {
		labels[clusterv1.MachineControlPlaneLabel] = ""
	}
	m := &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: name, Labels: labels, Finalizers: finalizers},
		Spec: clusterv1.MachineSpec{ClusterName: "test", Bootstrap: clusterv1.Bootstrap{DataSecretName: ptr.To("bootstrap")},
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.SchemeGroupVersion.Group, Kind: "OpenStackMachine", Name: name}}}
	w.g.Expect(k8sClient.Create(w.ctx, m)).To(Succeed())
	m.Status.NodeRef = clusterv1.MachineNodeReference{Name: node}
	m.Status.Addresses = clusterv1.MachineAddresses{{Type: clusterv1.MachineInternalIP, Address: address}}
	w.g.Expect(k8sClient.Status().Update(w.ctx, m)).To(Succeed())
}

// addMember creates cp-i's member through the Octavia API, as CAPO does.
func (w *world) addMember(i int) string {
	m, err := pools.CreateMember(w.ctx, w.octa.ServiceClient(), w.poolID, pools.CreateMemberOpts{
		Name: fmt.Sprintf("%s-6443-cp-%d", lbName, i), Address: addr(i), ProtocolPort: 6443}).Extract()
	w.g.Expect(err).NotTo(HaveOccurred())
	return m.ID
}

func (w *world) reconcile() ctrl.Result {
	w.t.Helper()
	res, err := w.r.Reconcile(w.ctx, ctrl.Request{NamespacedName: types.NamespacedName{Namespace: w.ns, Name: "test"}})
	w.g.Expect(err).NotTo(HaveOccurred())
	return res
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

func (w *world) machine(i int) *clusterv1.Machine {
	m := &clusterv1.Machine{}
	w.g.Expect(k8sClient.Get(w.ctx, types.NamespacedName{Namespace: w.ns, Name: fmt.Sprintf("cp-%d", i)}, m)).To(Succeed())
	return m
}

func (w *world) hasHook(i int) bool {
	return w.machine(i).Annotations[v1alpha1.PreDrainHookAnnotation] == v1alpha1.HookOwner
}

func (w *world) condition(i int) *metav1.Condition {
	for _, c := range w.machine(i).Status.Conditions {
		if c.Type == v1alpha1.MemberReadyCondition {
			return &c
		}
	}
	return nil
}

func (w *world) memberGate() *v1alpha1.MemberGate {
	mg := &v1alpha1.MemberGate{}
	w.g.Expect(k8sClient.Get(w.ctx, types.NamespacedName{Namespace: w.ns, Name: "test"}, mg)).To(Succeed())
	return mg
}

func (w *world) deleteMachine(i int) {
	w.g.Expect(k8sClient.Delete(w.ctx, w.machine(i))).To(Succeed())
}

func (w *world) annotate(obj client.Object, key, value string) {
	w.g.Expect(k8sClient.Get(w.ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
	a := obj.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[key] = value
	obj.SetAnnotations(a)
	w.g.Expect(k8sClient.Update(w.ctx, obj)).To(Succeed())
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

func clientKey(o client.Object) client.ObjectKey { return client.ObjectKeyFromObject(o) }
