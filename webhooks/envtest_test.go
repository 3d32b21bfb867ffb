package webhooks

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/internal/scheme"
	"github.com/membergate/membergate/internal/testenv"
)

// TestWebhooksOnARealAPIServer installs the generated webhook configuration
// in a real kube-apiserver, which calls our server over TLS.
func TestWebhooksOnARealAPIServer(t *testing.T) {
	g := NewWithT(t)
	root, err := testenv.RepoRoot()
	g.Expect(err).NotTo(HaveOccurred())
	env, err := testenv.New(root, "", testenv.MemberGate)
	g.Expect(err).NotTo(HaveOccurred())
	env.WebhookInstallOptions = envtest.WebhookInstallOptions{Paths: []string{filepath.Join(root, "config", "webhook")}}
	cfg, err := env.Start()
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = env.Stop() }()

	wo := env.WebhookInstallOptions
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: scheme.New(), Metrics: metricsserver.Options{BindAddress: "0"},
		WebhookServer: webhook.NewServer(webhook.Options{Host: wo.LocalServingHost, Port: wo.LocalServingPort, CertDir: wo.LocalServingCertDir})})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(MemberGate{}.SetupWithManager(mgr)).To(Succeed())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = mgr.Start(ctx) }()
	c, err := client.New(cfg, client.Options{Scheme: scheme.New()})
	g.Expect(err).NotTo(HaveOccurred())

	// The server is up once a create goes through the webhooks.
	mg := &v1alpha1.MemberGate{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "prod"}, Spec: v1alpha1.MemberGateSpec{ClusterName: "prod"}}
	g.Eventually(func() error { return c.Create(ctx, mg) }).WithTimeout(30 * time.Second).Should(Succeed())
	g.Expect(mg.Spec.Mode).To(Equal(v1alpha1.ModeEnforce), "not defaulted by the mutating webhook")
	g.Expect(mg.Spec.SettleWindow).To(BeNil(), "an unset settle window means Auto and stays unset")
	g.Expect(mg.Spec.SecurityGroups.Mode).To(Equal(v1alpha1.SecurityGroupsAudit), "security groups not defaulted to Audit")

	anywhere := &v1alpha1.MemberGate{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "anywhere"},
		Spec: v1alpha1.MemberGateSpec{ClusterName: "anywhere", SecurityGroups: &v1alpha1.SecurityGroupsSpec{Sources: []string{"0.0.0.0/0"}}}}
	err = c.Create(ctx, anywhere)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("spec.securityGroups.sources[0]: Forbidden: refusing source 0.0.0.0/0: it admits the whole internet"))

	bad := &v1alpha1.MemberGate{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "bad"},
		Spec: v1alpha1.MemberGateSpec{ClusterName: "bad", SettleWindow: dur(time.Hour), MinServingMembers: i32(0)}}
	err = c.Create(ctx, bad)
	g.Expect(err).To(HaveOccurred())
	// minServingMembers: 0 is refused by the CRD schema before the webhook
	// sees it; the settle window only by the webhook.
	g.Expect(err.Error()).To(ContainSubstring("minServingMembers"))
	bad.Spec.MinServingMembers = nil
	err = c.Create(ctx, bad)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("spec.settleWindow: Invalid value: \"1h0m0s\": must be between 0s and 10m0s"))

	mg.Spec.ClusterName = "other"
	err = c.Update(ctx, mg)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("immutable"))
}
