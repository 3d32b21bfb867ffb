package scope

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/types"
	infrav1 "sigs.k8s.io/cluster-api-provider-openstack/api/v1beta1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// APIServerLoadBalancer is a gated Cluster's API server load balancer and
// the credentials to read it.
type APIServerLoadBalancer struct {
	LoadBalancerID, LoadBalancerName string
	Identity                         Identity
	// NoLoadBalancer, when set, says why the cluster has no API server load
	// balancer by design (kube-vip, an external load balancer): there are
	// no members to wait for, so the cluster is not held at all.
	NoLoadBalancer string
	// NetworkID is the cluster's network, where its nodes' ports are and
	// the load balancer reaches its members (CAPO's status.network); empty
	// while CAPO has not said.
	NetworkID string
	// AllowedCIDRs are the listener's allowed_cidrs as CAPO last applied
	// them (its status.apiServerLoadBalancer.allowedCIDRs), comma-separated
	// so that the struct compares: a change means the listener changed,
	// and what was read of it must be read again.
	AllowedCIDRs string
}

// LoadBalancerLocator decides whether a Cluster is gated and where its API
// server load balancer is.
type LoadBalancerLocator interface {
	// Locate returns gated=false for Clusters the gate leaves alone. A gated
	// Cluster whose load balancer does not exist yet has an empty ID.
	Locate(ctx context.Context, c client.Reader, cluster *clusterv1.Cluster) (lb APIServerLoadBalancer, gated bool, err error)
}

// CAPOLocator gates Clusters whose infrastructure is an OpenStackCluster:
// the load balancer is its status.apiServerLoadBalancer, the credentials its
// spec.identityRef.
type CAPOLocator struct{}

// Locate implements LoadBalancerLocator.
func (CAPOLocator) Locate(ctx context.Context, c client.Reader, cluster *clusterv1.Cluster) (APIServerLoadBalancer, bool, error) {
	ref := cluster.Spec.InfrastructureRef
	if ref.Kind != "OpenStackCluster" || ref.APIGroup != infrav1.SchemeGroupVersion.Group {
		return APIServerLoadBalancer{}, false, nil
	}
	var osc infrav1.OpenStackCluster
	if err := c.Get(ctx, types.NamespacedName{Namespace: cluster.Namespace, Name: ref.Name}, &osc); err != nil {
		return APIServerLoadBalancer{}, true, client.IgnoreNotFound(err)
	}
	id := osc.Spec.IdentityRef
	t := APIServerLoadBalancer{Identity: Identity{Namespace: cluster.Namespace, SecretName: id.Name, CloudName: id.CloudName, Region: id.Region}}
	if n := osc.Status.Network; n != nil {
		t.NetworkID = n.ID
	}
	if lb := osc.Status.APIServerLoadBalancer; lb != nil && lb.ID != "" {
		t.LoadBalancerID, t.LoadBalancerName, t.AllowedCIDRs = lb.ID, lb.Name, strings.Join(lb.AllowedCIDRs, ",")
		return t, true, nil
	}
	// An unset spec.apiServerLoadBalancer means none, as CAPO reads it. A
	// load balancer CAPO did create is gated whatever the spec says now.
	if !osc.Spec.APIServerLoadBalancer.IsEnabled() {
		t.NoLoadBalancer = fmt.Sprintf("OpenStackCluster %s has no API server load balancer (spec.apiServerLoadBalancer is unset or disabled): there are no members to wait for", osc.Name)
	}
	return t, true, nil
}
