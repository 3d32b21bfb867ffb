package extension

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"
	runtimecatalog "sigs.k8s.io/cluster-api/api/runtime/catalog"
	runtimehooksv1 "sigs.k8s.io/cluster-api/api/runtime/hooks/v1alpha1"
	runtimev1 "sigs.k8s.io/cluster-api/api/runtime/v1beta2"

	"github.com/membergate/membergate/extension/extensiontest"
	"github.com/membergate/membergate/pkg/gate"
)

// serve starts the extension server on 127.0.0.1 with a certificate from a
// test CA and returns a client that trusts only that CA.
func serve(t *testing.T, opts Options, h *Handlers) *extensiontest.Client {
	t.Helper()
	g := NewWithT(t)
	ca, err := extensiontest.NewCA()
	g.Expect(err).NotTo(HaveOccurred())
	opts.CertDir = t.TempDir()
	g.Expect(ca.WriteServingCert(opts.CertDir, []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")})).To(Succeed())
	opts.Host, opts.Port = "127.0.0.1", freePort(t)
	srv, err := NewServer(opts, h)
	g.Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		g.Expect(<-done).To(Succeed())
	})
	c, err := extensiontest.NewClient(runtimev1.ClientConfig{URL: "https://127.0.0.1:" + strconv.Itoa(opts.Port), CABundle: ca.PEM}, "")
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(func() error { _, err := c.Discover(ctx); return err }).WithTimeout(10 * time.Second).Should(Succeed())
	return c
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func handlerNames(g Gomega, d *runtimehooksv1.DiscoveryResponse) map[string]string {
	out := map[string]string{}
	for _, h := range d.Handlers {
		out[h.Name] = h.RequestHook.Hook
		g.Expect(*h.FailurePolicy).To(Equal(runtimehooksv1.FailurePolicyIgnore), "an extension outage must not block every upgrade")
	}
	return out
}

// TestServerOverTLS: discovery and every hook through CAPI's server, with
// typed requests as CAPI v1.13+ sends them.
func TestServerOverTLS(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c := serve(t, Options{}, handlers(fakeClient(cluster(), openStackCluster(), memberGate())))

	d, err := c.Discover(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(handlerNames(g, d)).To(Equal(map[string]string{
		BeforeClusterUpgradeHandler:      "BeforeClusterUpgrade",
		BeforeControlPlaneUpgradeHandler: "BeforeControlPlaneUpgrade",
		AfterControlPlaneUpgradeHandler:  "AfterControlPlaneUpgrade",
	}))

	before := &runtimehooksv1.BeforeClusterUpgradeResponse{}
	g.Expect(c.Call(ctx, runtimehooksv1.BeforeClusterUpgrade, BeforeClusterUpgradeHandler,
		&runtimehooksv1.BeforeClusterUpgradeRequest{Cluster: *cluster(), FromKubernetesVersion: "v1.31.4", ToKubernetesVersion: "v1.32.1"}, before)).To(Succeed())
	g.Expect(before.RetryAfterSeconds).To(BeNumerically(">", 0))
	g.Expect(before.Message).To(ContainSubstring("member m-new (10.0.0.11:6443) in pool pool-6443 is PENDING_CREATE/OFFLINE"))

	cp := &runtimehooksv1.BeforeControlPlaneUpgradeResponse{}
	g.Expect(c.Call(ctx, runtimehooksv1.BeforeControlPlaneUpgrade, BeforeControlPlaneUpgradeHandler,
		&runtimehooksv1.BeforeControlPlaneUpgradeRequest{Cluster: *cluster()}, cp)).To(Succeed())
	g.Expect(cp.RetryAfterSeconds).To(BeNumerically(">", 0))

	after := &runtimehooksv1.AfterControlPlaneUpgradeResponse{}
	g.Expect(c.Call(ctx, runtimehooksv1.AfterControlPlaneUpgrade, AfterControlPlaneUpgradeHandler,
		&runtimehooksv1.AfterControlPlaneUpgradeRequest{Cluster: *cluster(), KubernetesVersion: "v1.32.1"}, after)).To(Succeed())
	g.Expect(after.RetryAfterSeconds).To(BeNumerically(">", 0))
	g.Expect(after.Message).To(ContainSubstring("prod-cp-new (MemberPending)"))
}

// TestLiteralBodiesOfEveryCAPIVersion posts the testdata bodies, as CAPI
// v1.11 to v1.14 send them, to the server: each decodes and is answered for
// team-a/prod.
func TestLiteralBodiesOfEveryCAPIVersion(t *testing.T) {
	ctx := context.Background()
	c := serve(t, Options{}, handlers(fakeClient(cluster(), openStackCluster(), memberGate())))
	for _, tt := range []struct {
		file    string
		hook    runtimecatalog.Hook
		handler string
	}{
		{"before-cluster-upgrade.capi-v1.11.json", runtimehooksv1.BeforeClusterUpgrade, BeforeClusterUpgradeHandler},
		{"before-control-plane-upgrade.capi-v1.12.json", runtimehooksv1.BeforeControlPlaneUpgrade, BeforeControlPlaneUpgradeHandler},
		{"after-control-plane-upgrade.v1beta1-status.json", runtimehooksv1.AfterControlPlaneUpgrade, AfterControlPlaneUpgradeHandler},
		{"before-cluster-upgrade.capi-v1.14.json", runtimehooksv1.BeforeClusterUpgrade, BeforeClusterUpgradeHandler},
	} {
		t.Run(tt.file, func(t *testing.T) {
			g := NewWithT(t)
			body, err := os.ReadFile(filepath.Join("testdata", tt.file))
			g.Expect(err).NotTo(HaveOccurred())
			gvh, err := c.Catalog.GroupVersionHook(tt.hook)
			g.Expect(err).NotTo(HaveOccurred())
			out, err := c.Post(ctx, runtimecatalog.GVHToPath(gvh, tt.handler), body)
			g.Expect(err).NotTo(HaveOccurred())
			var resp runtimehooksv1.CommonRetryResponse
			g.Expect(json.Unmarshal(out, &resp)).To(Succeed())
			g.Expect(resp.Status).To(Equal(runtimehooksv1.ResponseStatusSuccess), resp.Message)
			g.Expect(resp.RetryAfterSeconds).To(BeNumerically(">", 0))
			g.Expect(resp.Message).To(ContainSubstring("prod-cp-new (MemberPending)"), "the answer is about team-a/prod")
		})
	}
}

// TestCAPIv111Discovery: with --extension-hooks leaving out
// BeforeControlPlaneUpgrade, discovery offers only hooks CAPI v1.11 knows.
func TestCAPIv111Discovery(t *testing.T) {
	g := NewWithT(t)
	hooks, err := ParseHooks("BeforeClusterUpgrade, AfterControlPlaneUpgrade")
	g.Expect(err).NotTo(HaveOccurred())
	c := serve(t, Options{Hooks: hooks}, handlers(fakeClient()))
	d, err := c.Discover(context.Background())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(handlerNames(g, d)).To(Equal(map[string]string{
		BeforeClusterUpgradeHandler:     "BeforeClusterUpgrade",
		AfterControlPlaneUpgradeHandler: "AfterControlPlaneUpgrade",
	}))
	for _, h := range d.Handlers {
		g.Expect(ptr.Deref(h.TimeoutSeconds, 0)).To(Equal(int32(10)))
	}
}

func TestParseHooks(t *testing.T) {
	g := NewWithT(t)
	hooks, err := ParseHooks("BeforeClusterUpgrade,BeforeControlPlaneUpgrade,AfterControlPlaneUpgrade")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(hooks).To(Equal(AllHooks))
	_, err = ParseHooks("BeforeClusterUpgrade,AfterClusterUpgrade")
	g.Expect(err).To(MatchError(ContainSubstring(`unknown hook "AfterClusterUpgrade"`)))
	_, err = ParseHooks("BeforeClusterUpgrade,BeforeClusterUpgrade")
	g.Expect(err).To(MatchError(ContainSubstring("listed twice")))
	_, err = ParseHooks(" , ")
	g.Expect(err).To(MatchError(ContainSubstring("no hook listed")))
	_, err = NewServer(Options{Hooks: []gate.Hook{"Nope"}}, &Handlers{})
	g.Expect(err).To(MatchError(ContainSubstring(`unknown hook "Nope"`)))
}

// The extension speaks TLS 1.2 or later and HTTP/1.1 only (HTTP/2 when
// asked), and reads at most 1 MiB of a request.
func TestServerHardening(t *testing.T) {
	g := NewWithT(t)
	c := serve(t, Options{}, handlers(fakeClient(cluster(), openStackCluster(), memberGate())))
	base := c.HTTP.Transport.(*http.Transport)
	hook := c.Base.String() + "/hooks.runtime.cluster.x-k8s.io/v1alpha1/beforeclusterupgrade/" + BeforeClusterUpgradeHandler

	h2 := base.Clone()
	h2.ForceAttemptHTTP2 = true
	h2.TLSClientConfig.NextProtos = []string{"h2", "http/1.1"}
	resp, err := (&http.Client{Transport: h2}).Post(hook, "application/json", strings.NewReader(`{}`))
	g.Expect(err).NotTo(HaveOccurred())
	_ = resp.Body.Close()
	g.Expect(resp.Proto).To(Equal("HTTP/1.1"), "HTTP/2 negotiated")

	old := base.Clone()
	old.TLSClientConfig.MinVersion, old.TLSClientConfig.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	resp, err = (&http.Client{Transport: old}).Post(hook, "application/json", strings.NewReader(`{}`))
	if err == nil {
		_ = resp.Body.Close()
	}
	g.Expect(err).To(MatchError(ContainSubstring("protocol version")))

	big := `{"kind": "BeforeClusterUpgradeRequest", "pad": "` + strings.Repeat("x", 2<<20) + `"}`
	resp, err = c.HTTP.Post(hook, "application/json", strings.NewReader(big))
	if err == nil {
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		g.Expect(resp.StatusCode).To(BeNumerically(">=", 400), "a 2 MiB request answered: %s", body)
	}
}
