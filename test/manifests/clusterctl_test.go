package manifests_test

import (
	"testing"

	. "github.com/onsi/gomega"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"

	"github.com/membergate/membergate/test/manifests"
)

// TestMemberGateCRDIsMovedByClusterctl: clusterctl move discovers only the
// kinds whose CRD carries the clusterctl label, and moves a MemberGate the
// user created (no ownerReference to its Cluster) only when the CRD also
// carries the move label. Both installs carry them: config/crd on its own
// (kustomize, without clusterctl, which would otherwise add the first one
// itself) and the components clusterctl installs (config/default).
func TestMemberGateCRDIsMovedByClusterctl(t *testing.T) {
	for _, overlay := range []string{"crd", "default"} {
		t.Run(overlay, func(t *testing.T) {
			g := NewWithT(t)
			objs, err := manifests.Build(overlay, nil)
			g.Expect(err).NotTo(HaveOccurred())
			crd := find(objs, "CustomResourceDefinition", "membergates.membergate.io")
			g.Expect(crd).NotTo(BeNil())
			g.Expect(crd.GetLabels()).To(HaveKeyWithValue(clusterctlv1.ClusterctlLabel, ""))
			g.Expect(crd.GetLabels()).To(HaveKeyWithValue(clusterctlv1.ClusterctlMoveLabel, ""))
			// Only the CRD: the labels must not reach the Deployment's
			// selector or any other object (clusterctl adds its own label
			// to all of them at install).
			for _, o := range objs {
				if o != crd {
					g.Expect(o.GetLabels()).NotTo(HaveKey(clusterctlv1.ClusterctlMoveLabel), "%s/%s", o.GetKind(), o.GetName())
				}
			}
		})
	}
}
