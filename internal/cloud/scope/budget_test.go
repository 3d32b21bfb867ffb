package scope

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
	. "github.com/onsi/gomega"
	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/membergate/membergate/pkg/memberwait"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
	"github.com/membergate/membergate/pkg/neutrontest"
)

// The identity Secret yields a Neutron client that spends the same
// per-cloud budget as the gate's Octavia observations, never waiting.
func TestNetworkClientsShareTheBudget(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	octa := octaviatest.NewServer(octaviatest.Options{Users: map[string]string{"capo": "s3cret"}})
	t.Cleanup(octa.Close)
	neutron := neutrontest.NewServer()
	t.Cleanup(neutron.Close)
	_, subnetIDs := neutron.AddNetwork("nodes", "10.6.0.0/24")
	lb := octa.Seed(octaviatest.LoadBalancerSpec{Name: "lb", Listeners: []octaviatest.ListenerSpec{{Port: 6443, Pool: &octaviatest.PoolSpec{Name: "pool"}}}})
	// CAPO's identity Secret: the emulated Keystone, whose catalog has
	// Octavia only, and Neutron's endpoint as an override.
	clouds := fmt.Sprintf(`clouds:
  openstack:
    auth:
      auth_url: %s
      username: capo
      password: s3cret
      project_name: capo
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    network_endpoint_override: %s
`, octa.KeystoneURL(), neutron.URL)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "cloud-config", ResourceVersion: "1"},
		Data: map[string][]byte{"clouds.yaml": []byte(clouds)}}
	s := &SecretSources{Client: fake.NewClientBuilder().WithObjects(secret).Build(), Budget: rate.Limit(1e-9), Burst: 2}
	id := Identity{Namespace: "ns", SecretName: "cloud-config", CloudName: "openstack"}

	src, err := s.Source(ctx, id)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = src.Observe(ctx, memberwait.Request{LoadBalancerID: lb.LoadBalancerID})
	g.Expect(err).NotTo(HaveOccurred())
	nc, err := s.Network(ctx, id)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = subnets.Get(ctx, nc.Network, subnetIDs[0]).Extract()
	g.Expect(err).NotTo(HaveOccurred(), "the second token of the burst")
	_, err = subnets.Get(ctx, nc.Network, subnetIDs[0]).Extract()
	g.Expect(errors.Is(err, ErrBudgetSpent)).To(BeTrue(), "got %v", err)
	_, err = src.Observe(ctx, memberwait.Request{LoadBalancerID: lb.LoadBalancerID})
	g.Expect(errors.Is(err, ErrBudgetSpent)).To(BeTrue(), "Octavia and Neutron do not share the budget")
	again, err := s.Network(ctx, id)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again).To(BeIdenticalTo(nc), "clients rebuilt while the Secret is unchanged")
}
