package manifests_test

import (
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/membergate/membergate/test/manifests"
)

// config/prometheus, the opt-in monitoring overlay, fits config/default: the
// PrometheusRule carries the rule groups promtool tests, the ServiceMonitor
// scrapes the manager's metrics port over HTTPS with a token through a
// Service that selects the manager's pods, Prometheus may read /metrics,
// and the dashboard ships in a ConfigMap Grafana's sidecar picks up.
func TestPrometheusOverlayFitsTheDefault(t *testing.T) {
	g := NewWithT(t)
	objs, err := manifests.Build("prometheus", nil)
	g.Expect(err).NotTo(HaveOccurred())
	def := built(t)
	deploy := typed[appsv1.Deployment](g, find(def, "Deployment", "membergate-controller-manager"))

	for _, o := range objs {
		if o.GetKind() != "ClusterRoleBinding" {
			g.Expect(o.GetNamespace()).To(Equal(deploy.Namespace), "%s %s", o.GetKind(), o.GetName())
		}
	}

	rule := find(objs, "PrometheusRule", "membergate")
	g.Expect(rule).NotTo(BeNil())
	raw, err := os.ReadFile(filepath.Join(manifests.Dir(), "prometheus", "rules.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	var groups map[string]any
	g.Expect(yaml.Unmarshal(raw, &groups)).To(Succeed())
	g.Expect(rule.Object["spec"]).To(Equal(groups), "the PrometheusRule's spec is not rules.yaml: run hack/promtool.sh generate")

	svc := typed[corev1.Service](g, find(objs, "Service", "membergate-metrics-service"))
	g.Expect(labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(deploy.Spec.Template.Labels))).To(BeTrue(), "the Service selects no manager pod")
	g.Expect(svc.Spec.Ports).To(HaveLen(1))
	g.Expect(svc.Spec.Ports[0].TargetPort).To(Equal(intstr.FromString("metrics")))
	g.Expect(deploy.Spec.Template.Spec.Containers[0].Ports).To(ContainElement(HaveField("Name", "metrics")))

	sm := find(objs, "ServiceMonitor", "membergate-controller-manager")
	g.Expect(sm).NotTo(BeNil())
	var spec struct {
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		Endpoints []struct {
			Port, Scheme, BearerTokenFile string
		} `json:"endpoints"`
	}
	b, err := yaml.Marshal(sm.Object["spec"])
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(yaml.Unmarshal(b, &spec)).To(Succeed())
	g.Expect(labels.SelectorFromSet(spec.Selector.MatchLabels).Matches(labels.Set(svc.Labels))).To(BeTrue(), "the ServiceMonitor selects no Service")
	g.Expect(spec.Endpoints).To(ConsistOf(And(HaveField("Port", svc.Spec.Ports[0].Name), HaveField("Scheme", "https"),
		HaveField("BearerTokenFile", Not(BeEmpty())))))

	binding := typed[rbacv1.ClusterRoleBinding](g, find(objs, "ClusterRoleBinding", "membergate-metrics-reader"))
	g.Expect(find(def, "ClusterRole", binding.RoleRef.Name)).NotTo(BeNil(), "the binding names a role config/default does not have")

	cm := typed[corev1.ConfigMap](g, find(objs, "ConfigMap", "membergate-grafana-dashboard"))
	g.Expect(cm.Labels).To(HaveKeyWithValue("grafana_dashboard", "1"))
	dashboard, err := os.ReadFile(filepath.Join(manifests.Dir(), "prometheus", "dashboard.json"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cm.Data).To(HaveKeyWithValue("membergate.json", string(dashboard)))

	g.Expect(find(def, "PrometheusRule", "membergate")).To(BeNil(), "monitoring is opt-in: config/default must not need the Prometheus Operator")
}
