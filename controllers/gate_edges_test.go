package controllers

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/monitors"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	. "github.com/onsi/gomega"
	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	infrav1 "sigs.k8s.io/cluster-api-provider-openstack/api/v1beta1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/yaml"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/internal/cloud/scope"
	"github.com/membergate/membergate/internal/metrics"
	managerscheme "github.com/membergate/membergate/internal/scheme"
	"github.com/membergate/membergate/pkg/memberwait"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
)

// These tests cover the edges a real management cluster has: clusters
// without an Octavia load balancer, non-kubeadm control planes, Octavia
// outages, pools without a health monitor, a release annotation set in
// advance, orphan members and Machines that vanish mid-reconcile.

// setLoadBalancer rewrites the OpenStackCluster's spec.apiServerLoadBalancer
// and status.apiServerLoadBalancer.
func (w *world) setLoadBalancer(spec *infrav1.APIServerLoadBalancer, status *infrav1.LoadBalancer) {
	osc := &infrav1.OpenStackCluster{}
	w.g.Expect(k8sClient.Get(w.ctx, types.NamespacedName{Namespace: w.ns, Name: "test"}, osc)).To(Succeed())
	osc.Spec.APIServerLoadBalancer = spec
	w.g.Expect(k8sClient.Update(w.ctx, osc)).To(Succeed())
	osc.Status.APIServerLoadBalancer = status
	w.g.Expect(k8sClient.Status().Update(w.ctx, osc)).To(Succeed())
}

func (w *world) readyCondition() *metav1.Condition {
	return meta.FindStatusCondition(w.memberGate().Status.Conditions, v1alpha1.ReadyCondition)
}

func (w *world) blockingCondition() *metav1.Condition {
	return meta.FindStatusCondition(w.memberGate().Status.Conditions, v1alpha1.BlockingCondition)
}

func (w *world) countEvents(reason string) int {
	return strings.Count(strings.Join(w.events(), "\n"), reason)
}

// A cluster whose spec asks for no API server load balancer (kube-vip, an
// external one) has no members to wait for: it is not held, the hooks the
// gate placed go, and the MemberGate says why.
func TestGateDoesNotGateAClusterWithoutALoadBalancer(t *testing.T) {
	w := newWorld(t, 2)
	w.reconcile()
	w.g.Expect(w.hasHook(0)).To(BeTrue())

	w.setLoadBalancer(&infrav1.APIServerLoadBalancer{Enabled: ptr.To(false)}, nil)
	w.reconcile()
	for i := 0; i < 2; i++ {
		w.g.Expect(w.hasHook(i)).To(BeFalse(), "cp-%d keeps a hook on a cluster with no load balancer", i)
		w.g.Expect(w.condition(i)).To(BeNil(), "cp-%d keeps a member condition", i)
	}
	w.g.Expect(w.blockingCondition().Status).To(Equal(metav1.ConditionFalse))
	w.g.Expect(w.blockingCondition().Message).To(ContainSubstring("no API server load balancer"))
	w.g.Expect(w.readyCondition().Reason).To(Equal("NoLoadBalancer"))

	// A Machine deleted now is not held, nor is a new one hooked.
	w.addMachine(2)
	w.deleteMachine(0)
	w.reconcile()
	w.g.Expect(w.hasHook(0)).To(BeFalse())
	w.g.Expect(w.hasHook(2)).To(BeFalse())

	// spec.apiServerLoadBalancer unset means none, as CAPO reads it.
	w.setLoadBalancer(nil, nil)
	w.reconcile()
	w.g.Expect(w.hasHook(2)).To(BeFalse())
}

// A load balancer the spec asks for that CAPO has not created yet holds
// every deletion, with a reason of its own.
func TestGateHoldsWhileTheLoadBalancerIsNotCreated(t *testing.T) {
	w := newWorld(t, 2)
	w.setLoadBalancer(&infrav1.APIServerLoadBalancer{Enabled: ptr.To(true)}, nil)
	w.reconcile()
	w.g.Expect(w.hasHook(0)).To(BeTrue())
	w.deleteMachine(0)
	w.reconcile()
	w.g.Expect(w.hasHook(0)).To(BeTrue(), "released with no load balancer to serve through")
	w.g.Expect(w.condition(1).Reason).To(Equal("LoadBalancerNotCreated"))
	w.g.Expect(w.readyCondition().Reason).To(Equal("LoadBalancerNotCreated"))
	w.g.Expect(w.blockingCondition().Status).To(Equal(metav1.ConditionTrue))
}

// managerClient is a client with exactly the manager's ClusterRole
// (config/rbac/role.yaml), through impersonation.
func managerClient(t *testing.T, w *world) client.Client {
	t.Helper()
	root, err := filepath.Abs("..")
	w.g.Expect(err).NotTo(HaveOccurred())
	raw, err := os.ReadFile(filepath.Join(root, "config", "rbac", "role.yaml"))
	w.g.Expect(err).NotTo(HaveOccurred())
	role := &rbacv1.ClusterRole{}
	w.g.Expect(yaml.Unmarshal(raw, role)).To(Succeed())
	role.Name = "membergate-manager-" + w.ns
	w.g.Expect(k8sClient.Create(w.ctx, role)).To(Succeed())
	user := "membergate-manager-" + w.ns
	w.g.Expect(k8sClient.Create(w.ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}})).To(Succeed())
	c := rest.CopyConfig(cfg)
	c.Impersonate = rest.ImpersonationConfig{UserName: user}
	cl, err := client.New(c, client.Options{Scheme: managerscheme.New()})
	w.g.Expect(err).NotTo(HaveOccurred())
	return cl
}

// installControlPlaneKind registers a control-plane CRD other than
// KubeadmControlPlane (RKE2's, here), as a provider would.
func installControlPlaneKind(t *testing.T, g Gomega) {
	t.Helper()
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "rke2controlplanes.controlplane.cluster.x-k8s.io"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "controlplane.cluster.x-k8s.io", Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "rke2controlplanes", Singular: "rke2controlplane", Kind: "RKE2ControlPlane", ListKind: "RKE2ControlPlaneList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1beta1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: ptr.To(true)}}}},
		},
	}
	sch := managerscheme.New()
	g.Expect(apiextensionsv1.AddToScheme(sch)).To(Succeed())
	c, err := client.New(cfg, client.Options{Scheme: sch})
	g.Expect(err).NotTo(HaveOccurred())
	err = c.Create(context.Background(), crd)
	if err != nil && !strings.Contains(err.Error(), "already exists") {
		g.Expect(err).NotTo(HaveOccurred())
	}
	g.Eventually(func() bool {
		got := &apiextensionsv1.CustomResourceDefinition{}
		if c.Get(context.Background(), client.ObjectKeyFromObject(crd), got) != nil {
			return false
		}
		for _, c := range got.Status.Conditions {
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				return true
			}
		}
		return false
	}, 30*time.Second, 100*time.Millisecond).Should(BeTrue())
}

// An RKE2 (k0s, Talos...) control plane is gated like a kubeadm one, with
// the manager's own RBAC, and its deletion releases the hooks.
func TestGateRunsForANonKubeadmControlPlane(t *testing.T) {
	w := newWorld(t, 2)
	installControlPlaneKind(t, w.g)
	cp := &unstructured.Unstructured{}
	cp.SetAPIVersion("controlplane.cluster.x-k8s.io/v1beta1")
	cp.SetKind("RKE2ControlPlane")
	cp.SetNamespace(w.ns)
	cp.SetName("test")
	cp.SetFinalizers([]string{"test.membergate.io/keep"})
	w.g.Eventually(func() error { return k8sClient.Create(w.ctx, cp) }, 30*time.Second, 200*time.Millisecond).Should(Succeed())
	w.g.Expect(k8sClient.Get(w.ctx, clientKey(w.cluster), w.cluster)).To(Succeed())
	w.cluster.Spec.ControlPlaneRef = clusterv1.ContractVersionedObjectReference{APIGroup: "controlplane.cluster.x-k8s.io", Kind: "RKE2ControlPlane", Name: "test"}
	w.g.Expect(k8sClient.Update(w.ctx, w.cluster)).To(Succeed())

	mc := managerClient(t, w)
	w.r.Client, w.r.APIReader = mc, mc
	w.r.Sources = &scope.SecretSources{Client: mc, Budget: w.r.Sources.(*scope.SecretSources).Budget}
	w.reconcile()
	w.g.Expect(w.hasHook(0)).To(BeTrue())
	w.g.Expect(w.hasHook(1)).To(BeTrue())

	// The control plane is deleted: every hook goes at once.
	w.g.Expect(k8sClient.Delete(w.ctx, cp)).To(Succeed())
	w.reconcile()
	w.g.Expect(w.hasHook(0)).To(BeFalse(), "the control plane is deleting but its Machines keep their hooks")
	w.g.Expect(w.hasHook(1)).To(BeFalse())
}

// A control plane the manager cannot read (a kind whose CRD is not
// installed, say) does not stop the gate.
func TestGateRunsWhenTheControlPlaneCannotBeRead(t *testing.T) {
	w := newWorld(t, 2)
	w.g.Expect(k8sClient.Get(w.ctx, clientKey(w.cluster), w.cluster)).To(Succeed())
	w.cluster.Spec.ControlPlaneRef = clusterv1.ContractVersionedObjectReference{APIGroup: "controlplane.cluster.x-k8s.io", Kind: "NoSuchControlPlane", Name: "test"}
	w.g.Expect(k8sClient.Update(w.ctx, w.cluster)).To(Succeed())
	w.reconcile()
	w.g.Expect(w.hasHook(0)).To(BeTrue())
	w.g.Expect(w.readyCondition().Message).To(ContainSubstring("NoSuchControlPlane"))
}

// Octavia answers 503 for two minutes: every member keeps its progress and
// every Machine its last known verdict (a serving member stays serving),
// nothing is released, and the first good read after the outage does not
// start the settle windows of members that had served throughout again.
func TestGateKeepsSettleProgressThroughAnOctaviaOutage(t *testing.T) {
	w := newWorld(t, 2)
	w.run(2*time.Minute, func() bool { return w.condition(1).Status == metav1.ConditionTrue })
	since := w.memberGate().Status.Machines[1].Members[0].Since
	w.g.Expect(since).NotTo(BeNil())

	remove := w.octa.InjectFault(octaviatest.Fault{Codes: []int{503}})
	w.deleteMachine(0)
	for i := 0; i < 4; i++ {
		w.clk.Step(30 * time.Second)
		w.reconcile()
	}
	mg := w.memberGate()
	w.g.Expect(w.readyCondition().Reason).To(Equal("OctaviaUnavailable"))
	w.g.Expect(w.hasHook(0)).To(BeTrue(), "released while Octavia could not be read")
	w.g.Expect(mg.Status.Machines[1].Members).To(HaveLen(1), "the outage erased the member's progress")
	w.g.Expect(mg.Status.Machines[1].Members[0].Since.Time).To(Equal(since.Time))
	c := w.condition(1)
	w.g.Expect(c.Status).To(Equal(metav1.ConditionTrue), "the condition flipped on a failed read: %s", c.Message)
	w.g.Expect(c.Message).To(ContainSubstring("could not be read since"))

	remove()
	w.clk.Step(time.Second)
	w.reconcile()
	w.g.Expect(w.condition(1).Status).To(Equal(metav1.ConditionTrue), "the settle window restarted after the outage: %s", w.condition(1).Message)
	// The release rule lets cp-0 go at once: its drain begins.
	w.g.Expect(w.memberGate().Status.Drains).To(ConsistOf(HaveField("Machine", "cp-0")), "cp-1 served before and after the outage")
}

// The gate's own request budget spent is no outage: nothing is reset.
func TestGateSpentBudgetResetsNothing(t *testing.T) {
	w := newWorld(t, 2)
	w.run(2*time.Minute, func() bool { return w.condition(1).Status == metav1.ConditionTrue })
	before := w.memberGate().Status.Machines[1].Members[0].Since
	w.r.Sources = &scope.SecretSources{Client: k8sClient, Budget: 0, Burst: 0}
	w.r.snapshots = snapshotCache{}
	w.clk.Step(time.Minute)
	w.reconcile()
	w.g.Expect(w.condition(1).Status).To(Equal(metav1.ConditionTrue))
	w.g.Expect(w.memberGate().Status.Machines[1].Members[0].Since.Time).To(Equal(before.Time))
}

// A pool whose health monitor was deleted reports NO_MONITOR: the default
// policy counts ACTIVE members as serving and says so, instead of holding
// every rollout for ever.
func TestGateReleasesBehindAPoolWithoutAMonitor(t *testing.T) {
	w := newWorld(t, 2)
	p, err := pools.Get(w.ctx, w.octa.ServiceClient(), w.poolID).Extract()
	w.g.Expect(err).NotTo(HaveOccurred())
	w.g.Expect(monitors.Delete(w.ctx, w.octa.ServiceClient(), p.MonitorID).ExtractErr()).To(Succeed())
	w.run(3*time.Minute, func() bool { return w.condition(1).Status == metav1.ConditionTrue })
	w.g.Expect(w.condition(1).Reason).To(Equal("MemberActiveNoMonitor"))
	w.g.Expect(w.condition(1).Message).To(ContainSubstring("health monitor"))
	w.g.Expect(w.countEvents("NoHealthMonitor")).To(Equal(1))

	w.addMachine(2)
	w.addMember(2)
	w.deleteMachine(0)
	w.run(5*time.Minute, func() bool { return !w.hasHook(0) })
	w.g.Expect(w.countEvents("NoHealthMonitor")).To(Equal(0), "warned again")
}

// A release annotation present before the Machine began deleting (from a
// template's metadata, say) is ignored, with a Warning event; one set after
// releases the hook.
func TestGateIgnoresAReleaseAnnotationSetBeforeDeletion(t *testing.T) {
	w := newWorld(t, 2)
	w.annotate(w.machine(0), v1alpha1.ReleaseAnnotation, "template: always")
	w.run(2*time.Minute, func() bool { return w.condition(1).Status == metav1.ConditionTrue })
	amphorav2(w, 2)
	w.addMachine(2)
	w.addMember(2)
	w.clk.Step(2 * time.Second)
	w.deleteMachine(0)
	w.events()
	w.reconcile()
	w.g.Expect(w.hasHook(0)).To(BeTrue(), "a release annotation set in advance let the Machine go")
	w.g.Expect(w.countEvents("ManualReleaseIgnored")).To(Equal(1))
	w.clk.Step(10 * time.Second)
	w.reconcile()
	w.g.Expect(w.hasHook(0)).To(BeTrue())

	w.annotate(w.machine(0), v1alpha1.ReleaseAnnotation, "alice: INC-42, accepted")
	w.reconcile()
	w.g.Expect(w.hasHook(0)).To(BeFalse(), "a release annotation set after deletion was ignored")
	w.g.Expect(w.countEvents("ManualRelease")).To(BeNumerically(">=", 1))
}

// An orphan member is reported once, and again only when it changes.
func TestGateReportsAnOrphanOnce(t *testing.T) {
	w := newWorld(t, 2)
	_, err := pools.CreateMember(w.ctx, w.octa.ServiceClient(), w.poolID, pools.CreateMemberOpts{Name: "stray", Address: "10.0.0.99", ProtocolPort: 6443}).Extract()
	w.g.Expect(err).NotTo(HaveOccurred())
	w.events()
	for i := 0; i < 5; i++ {
		w.reconcile()
		w.clk.Step(gateResync())
	}
	// PENDING_CREATE, then ACTIVE/OFFLINE (emulated timings): at most one
	// event per change.
	n := w.countEvents("OrphanMember")
	w.g.Expect(n).To(BeNumerically(">=", 1))
	w.g.Expect(n).To(BeNumerically("<=", 3), "an orphan reported on every reconcile")
}

func gateResync() time.Duration { return 30 * time.Second }

// A Machine that disappears between the list and its patch is not an error.
func TestGateIgnoresAMachineGoneMidReconcile(t *testing.T) {
	w := newWorld(t, 2)
	gone := false
	base, err := client.NewWithWatch(cfg, client.Options{Scheme: managerscheme.New()})
	w.g.Expect(err).NotTo(HaveOccurred())
	w.r.Client = interceptor.NewClient(base, interceptor.Funcs{
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			if _, ok := obj.(*clusterv1.Machine); ok && obj.GetName() == "cp-0" && !gone {
				gone = true
				m := &clusterv1.Machine{}
				if err := c.Get(ctx, client.ObjectKeyFromObject(obj), m); err != nil {
					return err
				}
				m.Finalizers = nil
				if err := c.Update(ctx, m); err != nil {
					return err
				}
				if err := c.Delete(ctx, m); err != nil {
					return err
				}
			}
			return c.Patch(ctx, obj, patch, opts...)
		},
	})
	_, err = w.r.Reconcile(w.ctx, reconcileRequest(w))
	w.g.Expect(err).NotTo(HaveOccurred())
	w.g.Expect(gone).To(BeTrue())
}

// Machine addresses and member addresses are compared as addresses:
// Octavia keeps the spelling it was given.
func TestMemberOfComparesAddressesParsed(t *testing.T) {
	g := NewWithT(t)
	m := &clusterv1.Machine{Status: clusterv1.MachineStatus{Addresses: clusterv1.MachineAddresses{{Type: clusterv1.MachineInternalIP, Address: "fd00::a"}}}}
	pool := memberwait.PoolStatus{ID: "p", Members: []memberwait.MemberStatus{{ID: "m1", Address: "fd00:0:0::0a", ProtocolPort: 6443}}}
	ms, ok := memberOf(m, "", pool)
	g.Expect(ok).To(BeTrue())
	g.Expect(ms.ID).To(Equal("m1"))
}

func reconcileRequest(w *world) ctrl.Request {
	return ctrl.Request{NamespacedName: types.NamespacedName{Namespace: w.ns, Name: "test"}}
}

// A cluster that is gone leaves no metric series behind: a management
// cluster that creates and deletes clusters would otherwise export every
// cluster it ever had.
func TestGateForgetsTheMetricsOfAGoneCluster(t *testing.T) {
	w := newWorld(t, 2)
	w.run(2*time.Minute, func() bool { return w.condition(1).Status == metav1.ConditionTrue })
	// DeleteLabelValues says whether the series existed; the reconcile
	// after it sets it again.
	w.g.Expect(metrics.HeldSeconds.DeleteLabelValues(w.ns, "test")).To(BeTrue())
	w.reconcile()

	w.g.Expect(k8sClient.Get(w.ctx, client.ObjectKeyFromObject(w.cluster), w.cluster)).To(Succeed())
	w.cluster.Finalizers = nil
	w.g.Expect(k8sClient.Update(w.ctx, w.cluster)).To(Succeed())
	w.g.Expect(k8sClient.Delete(w.ctx, w.cluster)).To(Succeed())
	w.g.Eventually(func() bool {
		return apierrors.IsNotFound(k8sClient.Get(w.ctx, client.ObjectKeyFromObject(w.cluster), &clusterv1.Cluster{}))
	}).Should(BeTrue())
	w.reconcile()
	w.g.Expect(metrics.HeldSeconds.DeleteLabelValues(w.ns, "test")).To(BeFalse(), "the gone cluster's series stayed")
	w.g.Expect(metrics.HoldAlert.DeleteLabelValues(w.ns, "test")).To(BeFalse())
}

// The liveness check fails while a reconcile runs past twice its deadline
// (it ignores its context: a worker held for good), and not before.
func TestHealthzFailsOnAStuckReconcile(t *testing.T) {
	g := NewWithT(t)
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC))
	r := &GateReconciler{Clock: clk}
	g.Expect(r.Healthz(nil)).To(Succeed(), "idle")
	req := ctrl.Request{NamespacedName: types.NamespacedName{Namespace: "ns", Name: "prod"}}
	r.inflight.begin(req, clk.Now())
	clk.Step(StuckAfter)
	g.Expect(r.Healthz(nil)).To(Succeed(), "at the limit")
	clk.Step(time.Second)
	g.Expect(r.Healthz(nil)).To(MatchError(ContainSubstring("ns/prod has run for 1m1s")))
	r.inflight.end(req)
	g.Expect(r.Healthz(nil)).To(Succeed())
}

// verify: false is refused unless the manager allows it, and then said
// once, as a Warning.
func TestGateWarnsOnceAboutUncheckedCertificates(t *testing.T) {
	w := newWorld(t, 2)
	secret := &corev1.Secret{}
	w.g.Expect(k8sClient.Get(w.ctx, types.NamespacedName{Namespace: w.ns, Name: "cloud-config"}, secret)).To(Succeed())
	secret.Data["clouds.yaml"] = append(secret.Data["clouds.yaml"], []byte("    verify: false\n")...)
	w.g.Expect(k8sClient.Update(w.ctx, secret)).To(Succeed())

	w.reconcile()
	ready := meta.FindStatusCondition(w.memberGate().Status.Conditions, v1alpha1.ReadyCondition)
	w.g.Expect(ready.Message).To(ContainSubstring("--allow-insecure-openstack-tls"))
	w.g.Expect(w.countEvents("InsecureOpenStackTLS")).To(BeZero())

	w.r.Sources = &scope.SecretSources{Client: k8sClient, Budget: rate.Inf, AllowInsecureTLS: true}
	w.run(2*time.Minute, func() bool { return w.condition(1).Status == metav1.ConditionTrue })
	w.g.Expect(w.countEvents("InsecureOpenStackTLS")).To(Equal(1))
	w.clk.Step(time.Minute)
	w.reconcile()
	w.g.Expect(w.countEvents("InsecureOpenStackTLS")).To(BeZero(), "warned again")
}
