package harness

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	devv1 "sigs.k8s.io/cluster-api/test/infrastructure/docker/api/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/membergate/membergate/internal/cloud/scope"
)

func TestDevLocatorGatesItsOwnDevClustersOnly(t *testing.T) {
	g := NewWithT(t)
	dc := &devv1.DevCluster{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c1", Annotations: map[string]string{
		LoadBalancerIDAnnotation: "lb-1", LoadBalancerNameAnnotation: "k8s-clusterapi-cluster-ns-c1-kubeapi", IdentityAnnotation: "c1-cloud-config"}}}
	c := fake.NewClientBuilder().WithScheme(newScheme()).WithObjects(dc).Build()
	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c1"}, Spec: clusterv1.ClusterSpec{
		InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: devv1.GroupVersion.Group, Kind: "DevCluster", Name: "c1"}}}

	target, gated, err := DevLocator{}.Locate(context.Background(), c, cluster)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(gated).To(BeTrue())
	g.Expect(target).To(Equal(scope.APIServerLoadBalancer{LoadBalancerID: "lb-1", LoadBalancerName: "k8s-clusterapi-cluster-ns-c1-kubeapi",
		Identity: scope.Identity{Namespace: "ns", SecretName: "c1-cloud-config", CloudName: CloudName}}))

	// The default gate leaves a cluster that chose another gate alone, and
	// that gate takes it.
	dc.Annotations[GateAnnotation] = "restart"
	g.Expect(c.Update(context.Background(), dc)).To(Succeed())
	_, gated, err = DevLocator{}.Locate(context.Background(), c, cluster)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(gated).To(BeFalse())
	target, gated, err = DevLocator{Gate: "restart"}.Locate(context.Background(), c, cluster)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(gated).To(BeTrue())
	g.Expect(target.LoadBalancerID).To(Equal("lb-1"))
	_, gated, err = DevLocator{Gate: "other"}.Locate(context.Background(), c, cluster)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(gated).To(BeFalse())

	// Without its DevCluster no gate can tell whether the cluster is its own.
	missing := cluster.DeepCopy()
	missing.Spec.InfrastructureRef.Name = "c2"
	_, gated, err = DevLocator{}.Locate(context.Background(), c, missing)
	g.Expect(err).To(HaveOccurred())
	g.Expect(gated).To(BeFalse())

	cluster.Spec.InfrastructureRef.Kind = "DockerCluster"
	_, gated, err = DevLocator{}.Locate(context.Background(), c, cluster)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(gated).To(BeFalse())
}
