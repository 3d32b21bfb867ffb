// Package deploy_test runs the manager binary as config/default deploys it.
package deploy_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	infrav1 "sigs.k8s.io/cluster-api-provider-openstack/api/v1beta1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	runtimehooksv1 "sigs.k8s.io/cluster-api/api/runtime/hooks/v1alpha1"
	runtimev1 "sigs.k8s.io/cluster-api/api/runtime/v1beta2"
	"sigs.k8s.io/cluster-api/core/reconcilers/extensionconfig"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/extension/extensiontest"
	"github.com/membergate/membergate/internal/scheme"
	"github.com/membergate/membergate/internal/testenv"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
	"github.com/membergate/membergate/test/manifests"
)

// The cluster of extension/testdata's literal request bodies.
const ns, clusterName, oscName = "team-a", "prod", "prod-8k4fj"

// TestManagerServesTheDeployment runs the manager binary as config/default
// deploys it — its very arguments, certificates where the Deployment mounts them —
// against a real kube-apiserver, with the gate reading the Octavia emulator
// through a CAPO identity Secret:
//   - the admission webhooks, registered from config/default with the CA
//     cert-manager's cainjector would inject, default a MemberGate;
//   - CAPI's own ExtensionConfig reconciler injects the extension's CA from
//     the Secret named in config/default's ExtensionConfig and discovers the
//     extension over TLS at the Service's DNS name;
//   - the lifecycle hooks, called with CAPI's request types and with a
//     literal CAPI v1.11 body, block while a new member is PENDING_CREATE and
//     allow once it serves; AfterControlPlaneUpgrade blocks on an orphan.
//
// CAPI's runtime client is internal to CAPI: the calls go through
// extensiontest's client, which builds URLs and verifies TLS as CAPI's does.
func TestManagerServesTheDeployment(t *testing.T) {
	g := NewWithT(t)
	bin := buildManager(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	cfg := startEnv(t)
	sch := scheme.New()
	g.Expect(runtimev1.AddToScheme(sch)).To(Succeed())
	c, err := client.New(cfg, client.Options{Scheme: sch})
	g.Expect(err).NotTo(HaveOccurred())

	objs, err := manifests.Build("default", nil)
	g.Expect(err).NotTo(HaveOccurred())
	find := func(kind, name string) *unstructured.Unstructured {
		for _, o := range objs {
			if o.GetKind() == kind && (name == "" || o.GetName() == name) {
				return o.DeepCopy()
			}
		}
		t.Fatalf("config/default has no %s %s", kind, name)
		return nil
	}
	var deploy appsv1.Deployment
	g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(find("Deployment", "").Object, &deploy)).To(Succeed())
	extCertNames, _, _ := unstructured.NestedStringSlice(find("Certificate", "membergate-extension-cert").Object, "spec", "dnsNames")
	extSecret, _, _ := unstructured.NestedString(find("Certificate", "membergate-extension-cert").Object, "spec", "secretName")

	// Certificates, as cert-manager would issue them from the self-signed
	// issuer: the extension's for the Service names in config/default.
	ca, err := extensiontest.NewCA()
	g.Expect(err).NotTo(HaveOccurred())
	webhookDir, extDir := t.TempDir(), t.TempDir()
	g.Expect(ca.WriteServingCert(webhookDir, nil, []net.IP{net.ParseIP("127.0.0.1")})).To(Succeed())
	g.Expect(ca.WriteServingCert(extDir, extCertNames, nil)).To(Succeed())

	// The Deployment's arguments, then what differs outside a Pod: ports on
	// loopback, certificate directories, no leader election or metrics.
	webhookPort, extPort, probePort := freePort(t), freePort(t), freePort(t)
	args := append(deploy.Spec.Template.Spec.Containers[0].Args,
		"--leader-elect=false", "--metrics-bind-address=0",
		// An orphan added to Octavia is no Kubernetes event: an idle
		// cluster sees it at its next idle look, the shortest allowed here.
		"--idle-resync=30s",
		"--health-probe-bind-address=127.0.0.1:"+strconv.Itoa(probePort),
		"--webhook-host=127.0.0.1", "--webhook-port="+strconv.Itoa(webhookPort), "--webhook-cert-dir="+webhookDir,
		"--extension-host=127.0.0.1", "--extension-port="+strconv.Itoa(extPort), "--extension-cert-dir="+extDir)

	// The webhook configurations of config/default, pointed at the local
	// server with the CA the cainjector would write.
	g.Expect(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "membergate-system"}})).To(Succeed())
	for _, kind := range []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"} {
		wh := find(kind, "")
		hooks, _, _ := unstructured.NestedSlice(wh.Object, "webhooks")
		for _, h := range hooks {
			cc := h.(map[string]any)["clientConfig"].(map[string]any)
			path := cc["service"].(map[string]any)["path"].(string)
			delete(cc, "service")
			cc["url"] = fmt.Sprintf("https://127.0.0.1:%d%s", webhookPort, path)
			cc["caBundle"] = base64.StdEncoding.EncodeToString(ca.PEM)
		}
		g.Expect(unstructured.SetNestedSlice(wh.Object, hooks, "webhooks")).To(Succeed())
		g.Expect(c.Create(ctx, wh)).To(Succeed())
	}

	// The manager as a process: config/default's arguments must be its
	// flags (it exits 2 on any it does not know), and it finds the API
	// server as in-cluster tooling does outside a Pod, through KUBECONFIG.
	var logs lockedBuffer
	mgr := exec.Command(bin, args...)
	mgr.Env = append(os.Environ(), "KUBECONFIG="+writeKubeconfig(t, cfg))
	mgr.Stdout, mgr.Stderr = &logs, &logs
	g.Expect(mgr.Start()).To(Succeed())
	exited := make(chan error, 1)
	go func() { exited <- mgr.Wait() }()
	defer func() {
		// SIGTERM, as the kubelet stops a Pod: the manager drains and exits 0.
		_ = mgr.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			g.Expect(err).NotTo(HaveOccurred(), "the manager exits cleanly on SIGTERM")
		case <-time.After(30 * time.Second):
			_ = mgr.Process.Kill()
			t.Error("the manager did not stop within 30s of SIGTERM")
		}
		if t.Failed() {
			lines := strings.Split(logs.String(), "\n")
			t.Logf("manager logs (last 60 lines):\n%s", strings.Join(lines[max(0, len(lines)-60):], "\n"))
		}
	}()
	g.Eventually(func() (int, error) {
		res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", probePort))
		if err != nil {
			return 0, err
		}
		res.Body.Close()
		return res.StatusCode, nil
	}).WithTimeout(30*time.Second).Should(Equal(http.StatusOK), "readyz: webhooks and extension serving (logs: %s)", &logs)

	// A CAPO cluster: control-plane Machine cp-0 serves, cp-1's member is
	// stuck PENDING_CREATE while the load balancer is ACTIVE (amphorav2).
	w := newWorld(t, ctx, c)
	mg := &v1alpha1.MemberGate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: clusterName},
		Spec: v1alpha1.MemberGateSpec{ClusterName: clusterName, SettleWindow: &metav1.Duration{}}}
	g.Expect(c.Create(ctx, mg)).To(Succeed())
	g.Expect(mg.Spec.Mode).To(Equal(v1alpha1.ModeEnforce), "defaulted by the manager's mutating webhook")
	w.createCluster()

	// CAPI's ExtensionConfig reconciler, on config/default's ExtensionConfig
	// and the Secret cert-manager would write.
	g.Expect(c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "membergate-system", Name: extSecret},
		Data: map[string][]byte{"ca.crt": ca.PEM, "tls.crt": []byte("unused"), "tls.key": []byte("unused")}})).To(Succeed())
	g.Expect(c.Create(ctx, find("ExtensionConfig", "membergate"))).To(Succeed())
	rc := &extensiontest.RuntimeClient{DialAddr: fmt.Sprintf("127.0.0.1:%d", extPort)}
	ecr := &extensionconfig.Reconciler{Client: c, APIReader: c, RuntimeClient: rc}
	ec := &runtimev1.ExtensionConfig{}
	g.Eventually(func(g Gomega) {
		_, err := ecr.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKey{Name: "membergate"}})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(c.Get(ctx, client.ObjectKey{Name: "membergate"}, ec)).To(Succeed())
		g.Expect(meta.IsStatusConditionTrue(ec.Status.Conditions, runtimev1.ExtensionConfigDiscoveredCondition)).To(BeTrue())
	}).WithTimeout(30 * time.Second).Should(Succeed())
	g.Expect(ec.Spec.ClientConfig.CABundle).To(Equal(ca.PEM), "CA injected by CAPI from the annotated Secret")
	var discovered []string
	for _, h := range ec.Status.Handlers {
		discovered = append(discovered, h.Name)
		g.Expect(h.FailurePolicy).To(Equal(runtimev1.FailurePolicyIgnore), "an extension outage must not block every upgrade")
	}
	g.Expect(discovered).To(ConsistOf("before-cluster-upgrade.membergate", "before-control-plane-upgrade.membergate", "after-control-plane-upgrade.membergate"))

	beforeUpgrade := func() *runtimehooksv1.BeforeClusterUpgradeResponse {
		resp := &runtimehooksv1.BeforeClusterUpgradeResponse{}
		req := &runtimehooksv1.BeforeClusterUpgradeRequest{Cluster: *w.cluster, FromKubernetesVersion: "v1.31.4", ToKubernetesVersion: "v1.32.1"}
		g.Expect(rc.CallExtension(ctx, runtimehooksv1.BeforeClusterUpgrade, w.cluster, "before-cluster-upgrade.membergate", req, resp)).To(Succeed())
		return resp
	}
	g.Eventually(func() string { return beforeUpgrade().Message }).WithTimeout(60 * time.Second).WithPolling(250 * time.Millisecond).Should(
		ContainSubstring(fmt.Sprintf("cp-1 (MemberPending): member %s (10.0.0.11:6443) in pool %s is PENDING_CREATE", w.pendingID, w.poolID)))
	g.Expect(beforeUpgrade().RetryAfterSeconds).To(BeNumerically(">", 0))

	// CAPI v1.11's body (a v1beta1 Cluster) reaches the same handler.
	body, err := os.ReadFile(filepath.Join("..", "..", "extension", "testdata", "before-cluster-upgrade.capi-v1.11.json"))
	g.Expect(err).NotTo(HaveOccurred())
	raw, err := extensiontest.NewClient(ec.Spec.ClientConfig, rc.DialAddr)
	g.Expect(err).NotTo(HaveOccurred())
	out, err := raw.Post(ctx, "/hooks.runtime.cluster.x-k8s.io/v1alpha1/beforeclusterupgrade/before-cluster-upgrade", body)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(out)).To(ContainSubstring(`"status":"Success"`))
	g.Expect(string(out)).To(ContainSubstring("cp-1 (MemberPending)"))

	// The member turns ACTIVE/ONLINE: the gate observes it, the hook allows.
	g.Expect(w.octa.SetMemberStatus(w.pendingID, "ACTIVE", "ONLINE")).To(Succeed())
	g.Eventually(func() int32 { return beforeUpgrade().RetryAfterSeconds }).WithTimeout(60 * time.Second).WithPolling(250 * time.Millisecond).Should(BeZero())
	g.Expect(beforeUpgrade().Message).To(ContainSubstring("2 control-plane Machine(s) are member-ready"))

	// A member that belongs to no Machine holds the workers.
	afterUpgrade := func() *runtimehooksv1.AfterControlPlaneUpgradeResponse {
		resp := &runtimehooksv1.AfterControlPlaneUpgradeResponse{}
		req := &runtimehooksv1.AfterControlPlaneUpgradeRequest{Cluster: *w.cluster, KubernetesVersion: "v1.32.1"}
		g.Expect(rc.CallExtension(ctx, runtimehooksv1.AfterControlPlaneUpgrade, w.cluster, "after-control-plane-upgrade.membergate", req, resp)).To(Succeed())
		return resp
	}
	g.Expect(afterUpgrade().RetryAfterSeconds).To(BeZero())
	orphan := w.addMember("k8s-clusterapi-cluster-team-a-prod-kubeapi-6443-gone", "10.0.0.99")
	w.poke()
	g.Eventually(func() string { return afterUpgrade().Message }).WithTimeout(90 * time.Second).WithPolling(250 * time.Millisecond).Should(
		ContainSubstring(fmt.Sprintf("1 orphan member(s) belong to no control-plane Machine: member %s (10.0.0.99:6443)", orphan)))
	// 409 while the pool is PENDING_UPDATE from the create: retry, as CAPO should.
	g.Eventually(func() error { return pools.DeleteMember(ctx, w.octa.ServiceClient(), w.poolID, orphan).ExtractErr() }).
		WithTimeout(10 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
	g.Eventually(func() int32 { w.poke(); return afterUpgrade().RetryAfterSeconds }).WithTimeout(90 * time.Second).WithPolling(250 * time.Millisecond).Should(BeZero())
}

// world is a CAPO cluster in envtest whose load balancer is in the Octavia
// emulator (real clock: the manager runs for real).
type world struct {
	t                       *testing.T
	g                       Gomega
	ctx                     context.Context
	c                       client.Client
	octa                    *octaviatest.Server
	poolID, pendingID, lbID string
	cluster                 *clusterv1.Cluster
}

const lbName = "k8s-clusterapi-cluster-team-a-prod-kubeapi"

func newWorld(t *testing.T, ctx context.Context, c client.Client) *world {
	w := &world{t: t, g: NewWithT(t), ctx: ctx, c: c}
	w.g.Expect(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	w.octa = octaviatest.NewServer(octaviatest.Options{Users: map[string]string{"capo": "s3cret"}})
	t.Cleanup(w.octa.Close)
	pool := &octaviatest.PoolSpec{Name: lbName + "-6443", Monitor: &octaviatest.MonitorSpec{},
		Members: []octaviatest.MemberSpec{{Name: lbName + "-6443-cp-0", Address: "10.0.0.10", OperatingStatus: "ONLINE"}}}
	seeded := w.octa.Seed(octaviatest.LoadBalancerSpec{Name: lbName, Listeners: []octaviatest.ListenerSpec{{Port: 6443, Pool: pool}}})
	w.lbID, w.poolID = seeded.LoadBalancerID, seeded.PoolIDs[0]
	// cp-1's member, created as CAPO does, then stuck PENDING_CREATE.
	w.pendingID = w.addMember(lbName+"-6443-cp-1", "10.0.0.11")
	w.g.Expect(w.octa.SetMemberStatus(w.pendingID, "PENDING_CREATE", "OFFLINE")).To(Succeed())

	clouds := fmt.Sprintf("clouds:\n  openstack:\n    auth:\n      auth_url: %s\n      username: capo\n      password: s3cret\n"+
		"      project_name: capo\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: RegionOne\n", w.octa.KeystoneURL())
	w.g.Expect(c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cloud-config"},
		Data: map[string][]byte{"clouds.yaml": []byte(clouds)}})).To(Succeed())
	osc := &infrav1.OpenStackCluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: oscName},
		Spec: infrav1.OpenStackClusterSpec{IdentityRef: infrav1.OpenStackIdentityReference{Name: "cloud-config", CloudName: "openstack"}}}
	w.g.Expect(c.Create(ctx, osc)).To(Succeed())
	osc.Status.APIServerLoadBalancer = &infrav1.LoadBalancer{Name: lbName, ID: w.lbID, IP: "203.0.113.10", InternalIP: "10.0.0.2"}
	w.g.Expect(c.Status().Update(ctx, osc)).To(Succeed())
	for i := range 2 {
		w.addMachine(i)
	}
	return w
}

// createCluster creates the Cluster last, so the gate's first look finds
// everything else in place.
func (w *world) createCluster() {
	w.cluster = &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: clusterName},
		Spec: clusterv1.ClusterSpec{InfrastructureRef: clusterv1.ContractVersionedObjectReference{
			APIGroup: infrav1.SchemeGroupVersion.Group, Kind: "OpenStackCluster", Name: oscName}}}
	w.g.Expect(w.c.Create(w.ctx, w.cluster)).To(Succeed())
}

// poke changes the Cluster so the controller looks again now rather than
// at its next resync.
func (w *world) poke() {
	cl := &clusterv1.Cluster{}
	w.g.Expect(w.c.Get(w.ctx, client.ObjectKeyFromObject(w.cluster), cl)).To(Succeed())
	patch := client.MergeFrom(cl.DeepCopy())
	if cl.Annotations == nil {
		cl.Annotations = map[string]string{}
	}
	cl.Annotations["test.membergate.io/poke"] = time.Now().Format(time.RFC3339Nano)
	w.g.Expect(w.c.Patch(w.ctx, cl, patch)).To(Succeed())
}

func (w *world) addMember(name, addr string) string {
	m, err := pools.CreateMember(w.ctx, w.octa.ServiceClient(), w.poolID, pools.CreateMemberOpts{Name: name, Address: addr, ProtocolPort: 6443}).Extract()
	w.g.Expect(err).NotTo(HaveOccurred())
	return m.ID
}

func (w *world) addMachine(i int) {
	name := fmt.Sprintf("cp-%d", i)
	m := &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
		Labels: map[string]string{clusterv1.ClusterNameLabel: clusterName, clusterv1.MachineControlPlaneLabel: ""}},
		Spec: clusterv1.MachineSpec{ClusterName: clusterName, Bootstrap: clusterv1.Bootstrap{DataSecretName: ptr.To("bootstrap")},
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.SchemeGroupVersion.Group, Kind: "OpenStackMachine", Name: name}}}
	w.g.Expect(w.c.Create(w.ctx, m)).To(Succeed())
	m.Status.NodeRef = clusterv1.MachineNodeReference{Name: "node-" + name}
	m.Status.Addresses = clusterv1.MachineAddresses{{Type: clusterv1.MachineInternalIP, Address: fmt.Sprintf("10.0.0.%d", 10+i)}}
	w.g.Expect(w.c.Status().Update(w.ctx, m)).To(Succeed())
}

// startEnv starts a kube-apiserver and etcd (hack/envtest/build.sh) with
// Cluster API's, CAPO's and membergate's CRDs.
func startEnv(t *testing.T) *rest.Config {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	env, err := testenv.New(root, "", testenv.GateSources...)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting envtest: %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	return cfg
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// buildManager builds cmd/manager, the binary the image ships.
func buildManager(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "manager")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/membergate/membergate/cmd/manager")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/manager: %v\n%s", err, out)
	}
	return bin
}

// writeKubeconfig writes envtest's admin credentials as a kubeconfig file.
func writeKubeconfig(t *testing.T, cfg *rest.Config) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["envtest"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "envtest"}
	kc.CurrentContext = "envtest"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// lockedBuffer collects the manager's output, shown when the test fails.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
