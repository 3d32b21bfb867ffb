package extension

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	runtimehooksv1 "sigs.k8s.io/cluster-api/api/runtime/hooks/v1alpha1"
)

func TestNormalizeBody(t *testing.T) {
	read := func(g Gomega, file string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", file))
		g.Expect(err).NotTo(HaveOccurred())
		return b
	}

	t.Run("a v1beta1 status is what CAPI's plain decoding fails on; normalised, it decodes", func(t *testing.T) {
		g := NewWithT(t)
		body := read(g, "after-control-plane-upgrade.v1beta1-status.json")
		var req runtimehooksv1.AfterControlPlaneUpgradeRequest
		g.Expect(json.Unmarshal(body, &runtimehooksv1.AfterControlPlaneUpgradeRequest{})).To(MatchError(ContainSubstring("failureDomains")))
		g.Expect(json.Unmarshal(normalizeBody(body), &req)).To(Succeed())
		g.Expect(req.Cluster.Namespace + "/" + req.Cluster.Name).To(Equal("team-a/prod"))
		g.Expect(req.Cluster.APIVersion).To(Equal("cluster.x-k8s.io/v1beta1"))
		g.Expect(req.Cluster.Spec.Topology.Version).To(BeEmpty(), "only apiVersion, kind and metadata are kept")
		g.Expect(req.KubernetesVersion).To(Equal("v1.32.1"), "the rest of the request is untouched")
	})

	t.Run("a v1beta1 Cluster without TypeMeta (CAPI v1.11) is cut down only if it does not decode", func(t *testing.T) {
		g := NewWithT(t)
		body := read(g, "before-cluster-upgrade.capi-v1.11.json")
		var req runtimehooksv1.BeforeClusterUpgradeRequest
		g.Expect(json.Unmarshal(normalizeBody(body), &req)).To(Succeed())
		g.Expect(req.Cluster.Namespace + "/" + req.Cluster.Name).To(Equal("team-a/prod"))
		g.Expect(req.Settings).To(HaveKeyWithValue("team", "platform"))
		g.Expect(req.ToKubernetesVersion).To(Equal("v1.32.1"))
	})

	t.Run("a v1beta2 Cluster passes byte for byte", func(t *testing.T) {
		g := NewWithT(t)
		body := read(g, "before-cluster-upgrade.capi-v1.14.json")
		g.Expect(normalizeBody(body)).To(Equal(body))
	})

	t.Run("bodies that are not hook requests pass as they are", func(t *testing.T) {
		g := NewWithT(t)
		for _, body := range []string{`not json`, `{"apiVersion":"hooks.runtime.cluster.x-k8s.io/v1alpha1","kind":"DiscoveryRequest"}`, `{"cluster":"x"}`, `[]`} {
			g.Expect(string(normalizeBody([]byte(body)))).To(Equal(body))
		}
	})
}
