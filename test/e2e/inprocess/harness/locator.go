package harness

import (
	"context"

	"k8s.io/apimachinery/pkg/types"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	devv1 "sigs.k8s.io/cluster-api/test/infrastructure/docker/api/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/membergate/membergate/controllers"
)

// The Dev infrastructure has no load balancer of its own; in the e2e the
// API server load balancer lives in the Octavia emulator, and the DevCluster
// carries what CAPO keeps in OpenStackCluster: the load balancer
// (status.apiServerLoadBalancer) and the identity (spec.identityRef).
const (
	LoadBalancerIDAnnotation   = "e2e.membergate.io/load-balancer-id"
	LoadBalancerNameAnnotation = "e2e.membergate.io/load-balancer-name"
	IdentityAnnotation         = "e2e.membergate.io/identity-secret"
	// CloudName is the cloud in the identity Secret's clouds.yaml.
	CloudName = "openstack"
)

// DevLocator gates Clusters whose infrastructure is a DevCluster, as
// controllers.CAPOLocator gates those on an OpenStackCluster.
type DevLocator struct{}

// Locate implements controllers.LoadBalancerLocator.
func (DevLocator) Locate(ctx context.Context, c client.Reader, cluster *clusterv1.Cluster) (controllers.Target, bool, error) {
	ref := cluster.Spec.InfrastructureRef
	if ref.Kind != "DevCluster" || ref.APIGroup != devv1.GroupVersion.Group {
		return controllers.Target{}, false, nil
	}
	var dc devv1.DevCluster
	if err := c.Get(ctx, types.NamespacedName{Namespace: cluster.Namespace, Name: ref.Name}, &dc); err != nil {
		return controllers.Target{}, true, client.IgnoreNotFound(err)
	}
	a := dc.Annotations
	return controllers.Target{
		LoadBalancerID:   a[LoadBalancerIDAnnotation],
		LoadBalancerName: a[LoadBalancerNameAnnotation],
		Identity:         controllers.Identity{Namespace: cluster.Namespace, SecretName: a[IdentityAnnotation], CloudName: CloudName},
	}, true, nil
}
