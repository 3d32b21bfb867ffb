package caposcope_test

import (
	"testing"

	"github.com/go-logr/logr"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/cluster-api-provider-openstack/pkg/cloud/services/loadbalancer"

	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
	"github.com/membergate/membergate/test/capo/caposcope"
)

// CAPO's own client and service, built through the scope, reach the
// emulator.
func TestScopeReachesOctavia(t *testing.T) {
	g := NewWithT(t)
	srv := octaviatest.NewServer(octaviatest.Options{Seed: 1})
	t.Cleanup(srv.Close)
	s := &caposcope.Scope{OctaviaURL: srv.URL}

	lb, err := s.NewLbClient()
	g.Expect(err).NotTo(HaveOccurred())
	created, err := lb.CreateLoadBalancer(loadbalancers.CreateOpts{Name: "lb", VipSubnetID: "6b2a1c7e-3f58-4f0e-9a59-2d1f8c0b7e11", ProjectID: "e2a1f6c0b7e14c58a3d29f0e6b2a1c7e"})
	g.Expect(err).NotTo(HaveOccurred())
	list, err := lb.ListLoadBalancers(loadbalancers.ListOpts{Name: "lb"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(list).To(HaveLen(1))
	g.Expect(list[0].ID).To(Equal(created.ID))

	_, err = loadbalancer.NewService(s.WithLogger(logr.Discard()))
	g.Expect(err).NotTo(HaveOccurred())
	_, err = s.NewComputeClient()
	g.Expect(err).To(MatchError(ContainSubstring("no compute service")))
}
