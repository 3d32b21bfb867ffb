package scope

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
	. "github.com/onsi/gomega"
	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/membergate/membergate/internal/testenv"
	"github.com/membergate/membergate/pkg/memberwait"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
	"github.com/membergate/membergate/pkg/neutrontest"
)

// The identity Secret yields a Neutron client that spends the same
// identity budget as the gate's Octavia observations, never waiting.
func TestNetworkClientsShareTheIdentitysBudget(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	octa := octaviatest.NewServer(octaviatest.Options{Users: testenv.Users()})
	t.Cleanup(octa.Close)
	neutron := neutrontest.NewServer()
	t.Cleanup(neutron.Close)
	_, subnetIDs := neutron.AddNetwork("nodes", "10.6.0.0/24")
	lb := octa.Seed(octaviatest.LoadBalancerSpec{Name: "lb", Listeners: []octaviatest.ListenerSpec{{Port: 6443, Pool: &octaviatest.PoolSpec{Name: "pool"}}}})
	// CAPO's identity Secret: the emulated Keystone, whose catalog has
	// Octavia only, and Neutron's endpoint as an override.
	secret := testenv.IdentitySecret("ns", testenv.CloudsYAML(octa.KeystoneURL(), neutron.URL))
	s := &SecretSources{Client: fake.NewClientBuilder().WithObjects(secret).Build(), Budget: rate.Inf, IdentityBudget: rate.Limit(1e-9), IdentityBurst: 2}
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
	g.Expect(errors.Is(err, ErrBudgetSpent)).To(BeTrue(), "Octavia and Neutron spend one identity budget")
	again, err := s.Network(ctx, id)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again).To(BeIdenticalTo(nc), "clients rebuilt while the Secret is unchanged")
}

// twoTenants are identities a and b in their namespaces, on one emulated
// Octavia, each with a Neutron of its own (network_endpoint_override, a
// tenant's choice), and a load balancer ID to observe.
func twoTenants(t *testing.T) (objs []client.Object, neutrons map[string]*neutrontest.Server, a, b Identity, lbID string) {
	octa := octaviatest.NewServer(octaviatest.Options{Users: testenv.Users()})
	t.Cleanup(octa.Close)
	lb := octa.Seed(octaviatest.LoadBalancerSpec{Name: "lb", Listeners: []octaviatest.ListenerSpec{{Port: 6443, Pool: &octaviatest.PoolSpec{Name: "pool"}}}})
	neutrons = map[string]*neutrontest.Server{}
	for _, ns := range []string{"a", "b"} {
		n := neutrontest.NewServer()
		t.Cleanup(n.Close)
		n.AddNetwork("nodes", "10.6.0.0/24")
		neutrons[ns] = n
		objs = append(objs, testenv.IdentitySecret(ns, testenv.CloudsYAML(octa.KeystoneURL(), n.URL)))
	}
	return objs, neutrons, Identity{Namespace: "a", SecretName: "cloud-config", CloudName: "openstack"},
		Identity{Namespace: "b", SecretName: "cloud-config", CloudName: "openstack"}, lb.LoadBalancerID
}

// hammer sends n requests to an identity's Neutron and returns how many the
// budget let through.
func hammer(ctx context.Context, g Gomega, s *SecretSources, id Identity, n int) int {
	nc, err := s.Network(ctx, id)
	g.Expect(err).NotTo(HaveOccurred())
	sent := 0
	for range n {
		if _, err := subnets.List(nc.Network, nil).AllPages(ctx); err == nil {
			sent++
		}
	}
	return sent
}

// observeN observes a load balancer n times through an identity's source.
func observeN(ctx context.Context, s *SecretSources, id Identity, lbID string, n int) error {
	src, err := s.Source(ctx, id)
	if err != nil {
		return err
	}
	for range n {
		if _, err := src.Observe(ctx, memberwait.Request{LoadBalancerID: lbID}); err != nil {
			return err
		}
	}
	return nil
}

// B's requests to its own Neutron spend the budget of B's Neutron, not that
// of the Octavia A and B share: A still observes. (They spent the cloud's
// Octavia budget, and held A's rollouts.)
func TestATenantsOwnNeutronSpendsNoOneElsesBudget(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	objs, _, a, b, lbID := twoTenants(t)
	s := &SecretSources{Client: fake.NewClientBuilder().WithObjects(objs...).Build(), Budget: rate.Limit(1e-9), Burst: 6}
	g.Expect(hammer(ctx, g, s, b, 10)).To(Equal(6), "the cap of B's Neutron")
	g.Expect(observeN(ctx, s, a, lbID, 3)).To(Succeed())
}

// Two tenants on one Octavia, each with a budget of its own below the
// endpoint's: B spends all of its own, on its Neutron; B's observations
// then fail, A's go through.
func TestOneTenantCannotSpendAnothersBudget(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	objs, neutrons, a, b, lbID := twoTenants(t)
	// The endpoint allows 6 requests, each identity 3: what B cannot take
	// is left for A.
	s := &SecretSources{Client: fake.NewClientBuilder().WithObjects(objs...).Build(),
		Budget: rate.Limit(1e-9), Burst: 6, IdentityBudget: rate.Limit(1e-9), IdentityBurst: 3}
	g.Expect(hammer(ctx, g, s, b, 10)).To(Equal(3), "B's identity budget")
	g.Expect(errors.Is(observeN(ctx, s, b, lbID, 1), ErrBudgetSpent)).To(BeTrue(), "B spent its share")
	g.Expect(observeN(ctx, s, a, lbID, 3)).To(Succeed())
	g.Expect(errors.Is(observeN(ctx, s, a, lbID, 1), ErrBudgetSpent)).To(BeTrue(), "A's share is 3 too")
	g.Expect(neutrons["a"].Requests()).To(BeEmpty())
}

// The clients of an identity, which hold its credentials and tokens, go
// when its Secret does, and when no reconcile has asked for them for
// IdentityIdle.
func TestIdentityClientsDoNotOutliveTheirSecret(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	octa := octaviatest.NewServer(octaviatest.Options{Users: testenv.Users()})
	t.Cleanup(octa.Close)
	secret := func(ns string) *corev1.Secret {
		return testenv.IdentitySecret(ns, testenv.CloudsYAML(octa.KeystoneURL(), ""))
	}
	c := fake.NewClientBuilder().WithObjects(secret("a"), secret("b")).Build()
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC))
	s := &SecretSources{Client: c, Budget: rate.Inf, Clock: clk}
	a := Identity{Namespace: "a", SecretName: "cloud-config", CloudName: "openstack"}
	b := Identity{Namespace: "b", SecretName: "cloud-config", CloudName: "openstack"}
	for _, id := range []Identity{a, b} {
		_, err := s.Source(ctx, id)
		g.Expect(err).NotTo(HaveOccurred())
	}
	g.Expect(s.cached()).To(Equal(2))

	g.Expect(c.Delete(ctx, secret("a"))).To(Succeed())
	_, err := s.Source(ctx, a)
	g.Expect(err).To(MatchError(ContainSubstring("reading identity Secret a/cloud-config")))
	g.Expect(s.cached()).To(Equal(1), "a deleted Secret's clients stayed")

	clk.Step(IdentityIdle + time.Minute)
	g.Expect(c.Create(ctx, secret("c"))).To(Succeed())
	_, err = s.Source(ctx, Identity{Namespace: "c", SecretName: "cloud-config", CloudName: "openstack"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(s.cached()).To(Equal(1), "b's clients, unused for longer than IdentityIdle, stayed")
}

// A tenant's clouds.yaml reads nothing of the manager's: no file by path
// (its service-account token, say), no OS_* variable of its environment;
// and verify: false only when the manager allows it.
func TestIdentitySecretsReadNothingOfTheManagers(t *testing.T) {
	ctx := context.Background()
	octa := octaviatest.NewServer(octaviatest.Options{Users: testenv.Users()})
	t.Cleanup(octa.Close)
	// The fixture's clouds.yaml, with more lines, and without its password.
	fixture := string(testenv.CloudsYAML(octa.KeystoneURL(), ""))
	with := func(extra string) []byte { return []byte(fixture + extra) }
	noPassword := []byte(strings.Replace(fixture, "      password: "+testenv.Password+"\n", "", 1))
	cases := []struct {
		name    string
		clouds  []byte
		allow   bool
		wantErr string // "" succeeds
	}{
		{"the manager's OS_PASSWORD never fills a missing password", noPassword, false, "You must provide a password"},
		{"a cacert path", with("    cacert: /var/run/secrets/kubernetes.io/serviceaccount/token\n"), false, "cacert must be inline PEM"},
		{"a key path", with("    cert: /etc/hostname\n    key: /etc/hostname\n"), false, "must be inline PEM"},
		{"verify false refused", with("    verify: false\n"), false, "--allow-insecure-openstack-tls"},
		{"verify false allowed", with("    verify: false\n"), true, ""},
		{"inline credentials", with(""), false, ""},
	}
	// The manager's own environment holds credentials that would work.
	t.Setenv("OS_PASSWORD", testenv.Password)
	t.Setenv("OS_CACERT", "/etc/hostname")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := NewWithT(t)
			secret := testenv.IdentitySecret("ns", c.clouds)
			s := &SecretSources{Client: fake.NewClientBuilder().WithObjects(secret).Build(), Budget: rate.Inf, AllowInsecureTLS: c.allow}
			_, err := s.Source(ctx, Identity{Namespace: "ns", SecretName: "cloud-config", CloudName: "openstack"})
			if c.wantErr == "" {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(err).To(MatchError(ContainSubstring(c.wantErr)))
			g.Expect(err.Error()).NotTo(ContainSubstring(testenv.Password))
		})
	}
}
