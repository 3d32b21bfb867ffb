//go:build !capopatched

package caporeal

import (
	infrav1 "sigs.k8s.io/cluster-api-provider-openstack/api/v1beta1"
	"sigs.k8s.io/cluster-api-provider-openstack/pkg/cloud/services/loadbalancer"
	ctrl "sigs.k8s.io/controller-runtime"
)

// CAPO as released: ReconcileLoadBalancerMember returns only an error, so
// a nil error is its "done".
const patched = false

func reconcileMember(s *loadbalancer.Service, c *infrav1.OpenStackCluster, m *infrav1.OpenStackMachine, clusterResourceName, ip string) (*ctrl.Result, error) {
	return nil, s.ReconcileLoadBalancerMember(c, m, clusterResourceName, ip)
}
