package harness

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	devv1 "sigs.k8s.io/cluster-api/test/infrastructure/docker/api/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/membergate/membergate/internal/cloud/scope"
)

// The Dev infrastructure has no load balancer of its own; in the e2e the
// API server load balancer lives in the Octavia emulator, and the DevCluster
// carries what CAPO keeps in OpenStackCluster: the load balancer
// (status.apiServerLoadBalancer) and the identity (spec.identityRef).
const (
	LoadBalancerIDAnnotation   = "e2e.membergate.io/load-balancer-id"
	LoadBalancerNameAnnotation = "e2e.membergate.io/load-balancer-name"
	IdentityAnnotation         = "e2e.membergate.io/identity-secret"
	// GateAnnotation names the gate process that gates the cluster
	// (ClusterSpec.Gate); none means the default gate.
	GateAnnotation = "e2e.membergate.io/gate"
	// CloudName is the cloud in the identity Secret's clouds.yaml.
	CloudName = "openstack"
)

// DevLocator gates Clusters whose infrastructure is a DevCluster, as
// scope.CAPOLocator gates those on an OpenStackCluster — those of
// one gate process: the DevCluster's GateAnnotation must equal Gate.
type DevLocator struct {
	// Gate is the gate process's name; "" is the default gate, which gates
	// the DevClusters without the annotation.
	Gate string
}

// Locate implements scope.LoadBalancerLocator.
func (l DevLocator) Locate(ctx context.Context, c client.Reader, cluster *clusterv1.Cluster) (scope.APIServerLoadBalancer, bool, error) {
	ref := cluster.Spec.InfrastructureRef
	if ref.Kind != "DevCluster" || ref.APIGroup != devv1.GroupVersion.Group {
		return scope.APIServerLoadBalancer{}, false, nil
	}
	var dc devv1.DevCluster
	if err := c.Get(ctx, types.NamespacedName{Namespace: cluster.Namespace, Name: ref.Name}, &dc); err != nil {
		if apierrors.IsNotFound(err) {
			// Which gate gates it is on the DevCluster: without it no gate
			// may touch the cluster. (The harness creates the DevCluster
			// before the Cluster; this is a cache that has not caught up.)
			err = fmt.Errorf("DevCluster %s/%s not found (yet): which gate gates the cluster is unknown", cluster.Namespace, ref.Name)
		}
		return scope.APIServerLoadBalancer{}, false, err
	}
	a := dc.Annotations
	if a[GateAnnotation] != l.Gate {
		return scope.APIServerLoadBalancer{}, false, nil
	}
	return scope.APIServerLoadBalancer{
		LoadBalancerID:   a[LoadBalancerIDAnnotation],
		LoadBalancerName: a[LoadBalancerNameAnnotation],
		Identity:         scope.Identity{Namespace: cluster.Namespace, SecretName: a[IdentityAnnotation], CloudName: CloudName},
	}, true, nil
}
