/*
Copyright 2026 The Kubernetes Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

	http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package loadbalancer

// hack/compat.sh copies this file into CAPO's load-balancer package before
// and after applying the fork patch, so that the same benchmark measures
// what one ReconcileLoadBalancerMember costs in both. The two signatures
// differ (error, or (*ctrl.Result, error)), hence the call by reflection,
// which costs the same on both sides.

import (
	"reflect"
	"testing"

	"github.com/go-logr/logr"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	"go.uber.org/mock/gomock"
	"k8s.io/utils/ptr"

	infrav1 "sigs.k8s.io/cluster-api-provider-openstack/api/v1beta1"
	"sigs.k8s.io/cluster-api-provider-openstack/pkg/scope"
)

func Benchmark_ReconcileLoadBalancerMember(b *testing.B) {
	const (
		lbID   = "aaaaaaaa-bbbb-cccc-dddd-111111111111"
		poolID = "aaaaaaaa-bbbb-cccc-dddd-333333333333"
		ip     = "10.0.0.5"
	)
	for _, bc := range []struct {
		name                    string
		provisioning, operating string
	}{
		// A member that has served for months: every reconcile of a
		// healthy control plane machine.
		{name: "serving", provisioning: "ACTIVE", operating: "ONLINE"},
		// A member that does not serve yet: the fork looks at it once and
		// requeues; upstream does not look at it.
		{name: "pending", provisioning: "PENDING_CREATE", operating: "OFFLINE"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			mockCtrl := gomock.NewController(b)
			mockScopeFactory := scope.NewMockScopeFactory(mockCtrl, "")
			lbs, err := NewService(scope.NewWithLogger(mockScopeFactory, logr.Discard()))
			if err != nil {
				b.Fatal(err)
			}
			openStackCluster := &infrav1.OpenStackCluster{
				Spec: infrav1.OpenStackClusterSpec{
					APIServerLoadBalancer: &infrav1.APIServerLoadBalancer{Enabled: ptr.To(true)},
				},
				Status: infrav1.OpenStackClusterStatus{
					Network:               &infrav1.NetworkStatusWithSubnets{Subnets: []infrav1.Subnet{{ID: "subnet"}}},
					APIServerLoadBalancer: &infrav1.LoadBalancer{ID: lbID},
				},
			}
			// The endpoint's type moved between CAPI releases; set it
			// through reflection to keep one file for every CAPO release.
			endpoint := reflect.New(reflect.TypeOf(openStackCluster.Spec.ControlPlaneEndpoint).Elem())
			endpoint.Elem().FieldByName("Host").SetString("192.168.100.10")
			endpoint.Elem().FieldByName("Port").SetInt(6443)
			reflect.ValueOf(&openStackCluster.Spec.ControlPlaneEndpoint).Elem().Set(endpoint)
			openStackMachine := &infrav1.OpenStackMachine{}
			openStackMachine.Name = "machine"
			member := pools.Member{ID: "member", Name: "k8s-clusterapi-cluster-AAAAA-kubeapi-6443-machine", Address: ip, ProtocolPort: 6443,
				ProvisioningStatus: bc.provisioning, OperatingStatus: bc.operating}

			requests := 0
			m := mockScopeFactory.LbClient.EXPECT()
			m.ListPools(gomock.Any()).DoAndReturn(func(pools.ListOptsBuilder) ([]pools.Pool, error) {
				requests++
				return []pools.Pool{{ID: poolID}}, nil
			}).AnyTimes()
			m.ListPoolMember(poolID, gomock.Any()).DoAndReturn(func(string, pools.ListMembersOptsBuilder) ([]pools.Member, error) {
				requests++
				return []pools.Member{member}, nil
			}).AnyTimes()
			m.GetLoadBalancer(lbID).DoAndReturn(func(string) (*loadbalancers.LoadBalancer, error) {
				requests++
				return &loadbalancers.LoadBalancer{ID: lbID, ProvisioningStatus: "ACTIVE"}, nil
			}).AnyTimes()

			reconcile := reflect.ValueOf(lbs.ReconcileLoadBalancerMember)
			args := []reflect.Value{reflect.ValueOf(openStackCluster), reflect.ValueOf(openStackMachine), reflect.ValueOf("AAAAA"), reflect.ValueOf(ip)}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				out := reconcile.Call(args)
				if err := out[len(out)-1].Interface(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
		})
	}
}
