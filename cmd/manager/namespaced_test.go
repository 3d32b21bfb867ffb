package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	infrav1 "sigs.k8s.io/cluster-api-provider-openstack/api/v1beta1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/internal/scheme"
	"github.com/membergate/membergate/internal/testenv"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
)

// The manager's identity in config/: its ServiceAccount.
const serviceAccount = "system:serviceaccount:membergate-system:membergate-manager"

// TestWatchNamespacesKeepsToThem runs the manager with --watch-namespaces=a
// against a real kube-apiserver that enforces RBAC, as its ServiceAccount,
// with the grants of config/namespaced: config/rbac's ClusterRole without
// Secrets, the kube-system read, and Secrets in a alone
// (config/namespaced/secrets_role.yaml). Clusters a/test and b/test are
// alike. The manager gates a/test — it reads a's identity Secret and asks
// Octavia — and every request it sends to the API server stays inside a
// (or is cluster-scoped): b/test gets no MemberGate, b is never named, and
// nothing is refused by RBAC.
func TestWatchNamespacesKeepsToThem(t *testing.T) {
	g := NewWithT(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	root, err := testenv.RepoRoot()
	g.Expect(err).NotTo(HaveOccurred())
	env, err := testenv.New(root, "", testenv.GateSources...)
	g.Expect(err).NotTo(HaveOccurred())
	admin, err := env.Start()
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = env.Stop() }()
	c, err := client.New(admin, client.Options{Scheme: scheme.New()})
	g.Expect(err).NotTo(HaveOccurred())

	octa := octaviatest.NewServer(octaviatest.Options{Users: testenv.Users()})
	defer octa.Close()
	for _, ns := range []string{"a", "b", "membergate-system"} {
		g.Expect(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	}
	for _, ns := range []string{"a", "b"} {
		createCluster(ctx, g, c, octa, ns)
	}
	grantNamespaced(ctx, g, c, root, "a")

	user, err := env.AddUser(envtest.User{Name: serviceAccount, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:membergate-system"}}, admin)
	g.Expect(err).NotTo(HaveOccurred())
	cfg := user.Config()
	var log requestLog
	cfg.Wrap(log.wrap)

	o, err := parse([]string{"--watch-namespaces=a", "--leader-elect=false", "--metrics-bind-address=0", "--health-probe-bind-address=0",
		"--enable-webhooks=false", "--enable-extension=false"})
	g.Expect(err).NotTo(HaveOccurred())
	mgrCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- run(mgrCtx, cfg, o) }()
	defer func() {
		stop()
		g.Expect(<-done).To(Succeed())
	}()

	g.Eventually(func() string {
		var mg v1alpha1.MemberGate
		if err := c.Get(ctx, types.NamespacedName{Namespace: "a", Name: "test"}, &mg); err != nil {
			return err.Error()
		}
		return mg.Status.LoadBalancer.ProvisioningStatus
	}).WithTimeout(time.Minute).WithPolling(100*time.Millisecond).Should(Equal("ACTIVE"), "a/test observed through a's identity Secret")

	err = c.Get(ctx, types.NamespacedName{Namespace: "b", Name: "test"}, &v1alpha1.MemberGate{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "b/test was gated: %v", err)
	reqs := log.all()
	g.Expect(reqs).To(ContainElement("GET /api/v1/namespaces/a/secrets/cloud-config 200"))
	for _, r := range reqs {
		g.Expect(r).NotTo(HaveSuffix(" 403"), "refused by RBAC")
		g.Expect(r).NotTo(ContainSubstring("/namespaces/b/"))
		if strings.Contains(r, "/secrets") {
			g.Expect(r).To(HavePrefix("GET /api/v1/namespaces/a/secrets/"), "Secrets read one by one, in a")
		}
		// Namespaced kinds are listed and watched in a only.
		for _, kind := range []string{"/clusters", "/machines", "/openstackclusters", "/membergates", "/secrets"} {
			if strings.Contains(r, kind) {
				g.Expect(r).To(ContainSubstring("/namespaces/a/"), "beyond namespace a: %s", r)
			}
		}
	}
}

// requestLog records "METHOD path status" of every request through a
// rest.Config.
type requestLog struct {
	mu   sync.Mutex
	reqs []string
}

func (l *requestLog) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		res, err := rt.RoundTrip(r)
		status := "error"
		if err == nil {
			status = fmt.Sprint(res.StatusCode)
		}
		l.mu.Lock()
		l.reqs = append(l.reqs, r.Method+" "+r.URL.Path+" "+status)
		l.mu.Unlock()
		return res, err
	})
}

func (l *requestLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.reqs...)
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// grantNamespaced gives the manager's ServiceAccount what config/namespaced
// gives it: config/rbac's generated ClusterRole without its Secrets rule
// (the overlay's patch; test/manifests checks the overlay removes that
// rule alone), config/rbac's kube-system read, and
// config/namespaced/secrets_role.yaml in each namespace.
func grantNamespaced(ctx context.Context, g Gomega, c client.Client, root string, namespaces ...string) {
	subject := []rbacv1.Subject{{Kind: "ServiceAccount", Name: "membergate-manager", Namespace: "membergate-system"}}
	var role rbacv1.ClusterRole
	decodeFile(g, filepath.Join(root, "config", "rbac", "role.yaml"), &role)
	g.Expect(role.Rules[0].Resources).To(Equal([]string{"secrets"}))
	role.Rules = role.Rules[1:]
	g.Expect(c.Create(ctx, &role)).To(Succeed())
	g.Expect(c.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role.Name}, Subjects: subject,
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name}})).To(Succeed())
	var idRole rbacv1.ClusterRole
	var idBinding rbacv1.ClusterRoleBinding
	decodeFile(g, filepath.Join(root, "config", "rbac", "cluster_id_role.yaml"), &idRole, &idBinding)
	idBinding.Subjects = subject
	g.Expect(c.Create(ctx, &idRole)).To(Succeed())
	g.Expect(c.Create(ctx, &idBinding)).To(Succeed())
	for _, ns := range namespaces {
		var r rbacv1.Role
		var b rbacv1.RoleBinding
		decodeFile(g, filepath.Join(root, "config", "namespaced", "secrets_role.yaml"), &r, &b)
		r.Namespace, b.Namespace = ns, ns
		g.Expect(b.Subjects).To(Equal(subject))
		g.Expect(c.Create(ctx, &r)).To(Succeed())
		g.Expect(c.Create(ctx, &b)).To(Succeed())
	}
}

// decodeFile decodes a YAML file's documents into objs, in order.
func decodeFile(g Gomega, path string, objs ...any) {
	f, err := os.Open(path)
	g.Expect(err).NotTo(HaveOccurred())
	defer f.Close()
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	for _, o := range objs {
		g.Expect(dec.Decode(o)).To(Succeed(), path)
	}
}

// createCluster creates a gated CAPO cluster, ns/test, with one serving
// control-plane member in the emulated Octavia and its identity Secret.
func createCluster(ctx context.Context, g Gomega, c client.Client, octa *octaviatest.Server, ns string) {
	const lb = "k8s-clusterapi-cluster-test-kubeapi"
	pool := &octaviatest.PoolSpec{Name: lb + "-6443", Monitor: &octaviatest.MonitorSpec{},
		Members: []octaviatest.MemberSpec{{Name: lb + "-6443-cp-0", Address: "10.0.0.10", ProtocolPort: 6443, OperatingStatus: "ONLINE"}}}
	lbID := octa.Seed(octaviatest.LoadBalancerSpec{Name: lb, Listeners: []octaviatest.ListenerSpec{{Port: 6443, Pool: pool}}}).LoadBalancerID
	g.Expect(c.Create(ctx, testenv.IdentitySecret(ns, testenv.CloudsYAML(octa.KeystoneURL(), "")))).To(Succeed())
	osc := &infrav1.OpenStackCluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "test"},
		Spec: infrav1.OpenStackClusterSpec{IdentityRef: infrav1.OpenStackIdentityReference{Name: testenv.IdentitySecretName, CloudName: testenv.CloudName}}}
	g.Expect(c.Create(ctx, osc)).To(Succeed())
	osc.Status.APIServerLoadBalancer = &infrav1.LoadBalancer{Name: lb, ID: lbID}
	g.Expect(c.Status().Update(ctx, osc)).To(Succeed())
	m := &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cp-0",
		Labels: map[string]string{clusterv1.ClusterNameLabel: "test", clusterv1.MachineControlPlaneLabel: ""}},
		Spec: clusterv1.MachineSpec{ClusterName: "test", Bootstrap: clusterv1.Bootstrap{DataSecretName: ptr.To("bootstrap")},
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.SchemeGroupVersion.Group, Kind: "OpenStackMachine", Name: "cp-0"}}}
	g.Expect(c.Create(ctx, m)).To(Succeed())
	m.Status.NodeRef = clusterv1.MachineNodeReference{Name: "node-0"}
	m.Status.Addresses = clusterv1.MachineAddresses{{Type: clusterv1.MachineInternalIP, Address: "10.0.0.10"}}
	g.Expect(c.Status().Update(ctx, m)).To(Succeed())
	g.Expect(c.Create(ctx, &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "test"},
		Spec: clusterv1.ClusterSpec{
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.SchemeGroupVersion.Group, Kind: "OpenStackCluster", Name: "test"},
			ControlPlaneRef:   clusterv1.ContractVersionedObjectReference{APIGroup: "controlplane.cluster.x-k8s.io", Kind: "KubeadmControlPlane", Name: "test"},
		}})).To(Succeed())
}
