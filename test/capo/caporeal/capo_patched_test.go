//go:build capopatched

package caporeal

import (
	infrav1 "sigs.k8s.io/cluster-api-provider-openstack/api/v1beta1"
	"sigs.k8s.io/cluster-api-provider-openstack/pkg/cloud/services/loadbalancer"
	ctrl "sigs.k8s.io/controller-runtime"
)

// CAPO with membergate's fork patch (built by test/capo/run.sh): a non-nil
// result means "not yet, call again after RequeueAfter"; progress lives in
// an annotation on the OpenStackMachine passed in.
const patched = true

func reconcileMember(s *loadbalancer.Service, c *infrav1.OpenStackCluster, m *infrav1.OpenStackMachine, clusterResourceName, ip string) (*ctrl.Result, error) {
	return s.ReconcileLoadBalancerMember(c, m, clusterResourceName, ip)
}
