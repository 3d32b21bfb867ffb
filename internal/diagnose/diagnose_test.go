package diagnose

import (
	"context"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	. "github.com/onsi/gomega"

	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
	"github.com/membergate/membergate/pkg/neutrontest"
)

// The case operators trace by hand: nodes on the project's default group,
// which admits only its own members, so the amphora's health checks from
// the load balancer's subnet are dropped and the member goes ERROR.
func TestDefaultGroupLacksTheSubnetRule(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	neutron := neutrontest.NewServer()
	defer neutron.Close()
	octa := octaviatest.NewServer(octaviatest.Options{})
	defer octa.Close()

	_, subnets := neutron.AddNetwork("k8s-nodes", "10.6.0.0/24")
	def := neutron.DefaultGroup()
	neutron.AddPort("cp-0", subnets[0], "10.6.0.11", def)
	neutron.AddPort("cp-1", subnets[0], "10.6.0.12", def)
	seeded := octa.Seed(octaviatest.LoadBalancerSpec{Name: "kubeapi", Listeners: []octaviatest.ListenerSpec{{Port: 6443, Pool: &octaviatest.PoolSpec{
		Monitor: &octaviatest.MonitorSpec{Type: "TCP", Delay: 10, Timeout: 5, MaxRetries: 5, MaxRetriesDown: 3},
		Members: []octaviatest.MemberSpec{
			{Name: "cp-0", Address: "10.6.0.11", ProtocolPort: 6443, SubnetID: subnets[0], OperatingStatus: "ERROR"},
			{Name: "cp-1", Address: "10.6.0.12", ProtocolPort: 6443, SubnetID: subnets[0], OperatingStatus: "ERROR"},
		}}}}})
	lbc, netc := octa.ServiceClient(), neutron.ServiceClient()

	trace, err := Run(ctx, lbc, netc, neutrontest.DefaultProjectID, "kubeapi")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(trace.LoadBalancer.ID).To(Equal(seeded.LoadBalancerID))
	g.Expect(trace.Rows).To(HaveLen(2))
	for _, row := range trace.Rows {
		g.Expect(row.Failing).To(BeTrue())
		g.Expect(row.Source).To(Equal("10.6.0.0/24"))
		g.Expect(row.Groups).To(Equal([]string{def}))
		g.Expect(row.Verdict).To(Equal(MissingRule))
		g.Expect(row.Fix.SecurityGroupID).To(Equal(def))
		g.Expect(row.Fix.String()).To(Equal("ingress tcp port 6443 from 10.6.0.0/24"))
	}

	applied, err := Fix(ctx, netc, trace)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(applied).To(HaveLen(1), "the same rule for both members is added once")
	dg, err := groups.Get(ctx, netc, def).Extract()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(dg.Rules).To(HaveLen(5), "exactly one rule added to the default group's four")

	// Fixed: the groups admit the checks now; the cause of a remaining
	// ERROR would be elsewhere.
	trace, err = Run(ctx, lbc, netc, neutrontest.DefaultProjectID, seeded.LoadBalancerID)
	g.Expect(err).NotTo(HaveOccurred())
	for _, row := range trace.Rows {
		g.Expect(row.Verdict).To(Equal(Admitted))
		g.Expect(row.By.RemoteIPPrefix).To(Equal("10.6.0.0/24"))
	}
	// Fixing again is harmless: the rule exists (409) and counts as done.
	trace.Rows[0].Fix = applied[0].Rule.Clone()
	again, err := Fix(ctx, netc, trace)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again).To(HaveLen(1))
	g.Expect(again[0].Existed).To(BeTrue())
}

func TestNoPortAndUnknownLoadBalancer(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	neutron := neutrontest.NewServer()
	defer neutron.Close()
	octa := octaviatest.NewServer(octaviatest.Options{})
	defer octa.Close()
	_, subnets := neutron.AddNetwork("nodes", "10.6.0.0/24")
	seeded := octa.Seed(octaviatest.LoadBalancerSpec{Name: "lb", Listeners: []octaviatest.ListenerSpec{{Port: 6443, Pool: &octaviatest.PoolSpec{}}}})
	_, err := pools.CreateMember(ctx, octa.ServiceClient(), seeded.PoolIDs[0], pools.CreateMemberOpts{Address: "10.6.0.99", ProtocolPort: 6443, SubnetID: subnets[0]}).Extract()
	g.Expect(err).NotTo(HaveOccurred())
	trace, err := Run(ctx, octa.ServiceClient(), neutron.ServiceClient(), "", "lb")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(trace.Rows[0].Verdict).To(Equal(NoPort))
	_, err = Run(ctx, octa.ServiceClient(), neutron.ServiceClient(), "", "nope")
	var nf *NotFoundError
	g.Expect(err).To(BeAssignableToTypeOf(nf))
}

// Octavia keeps a member's address as submitted, Neutron a port's fixed IP
// in canonical form: the member is traced to its port whatever the spelling.
func TestMemberAddressSpelledOtherwiseThanItsPort(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	neutron, octa := clouds(t)
	_, subnets := neutron.AddNetwork("k8s-nodes", "fd00::/64")
	def := neutron.DefaultGroup()
	neutron.AddPort("cp-0", subnets[0], "fd00::a", def)
	octa.Seed(octaviatest.LoadBalancerSpec{Name: "kubeapi", Listeners: []octaviatest.ListenerSpec{{Port: 6443, Pool: &octaviatest.PoolSpec{
		Members: []octaviatest.MemberSpec{{Name: "cp-0", Address: "fd00:0:0::0a", ProtocolPort: 6443, SubnetID: subnets[0], OperatingStatus: "ERROR"}},
	}}}})
	trace, err := Run(ctx, octa.ServiceClient(), neutron.ServiceClient(), neutrontest.DefaultProjectID, "kubeapi")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(trace.Rows).To(HaveLen(1))
	g.Expect(trace.Rows[0].Groups).To(Equal([]string{def}), "the member's port was not found: %+v", trace.Rows[0])
	g.Expect(trace.Rows[0].Verdict).To(Equal(MissingRule))
}

// clouds starts a Neutron and an Octavia emulator for one test.
func clouds(t *testing.T) (*neutrontest.Server, *octaviatest.Server) {
	neutron := neutrontest.NewServer()
	t.Cleanup(neutron.Close)
	octa := octaviatest.NewServer(octaviatest.Options{})
	t.Cleanup(octa.Close)
	return neutron, octa
}

// With credentials that see several projects, another project's port can
// hold a member's address in another network, and a port of the project
// can carry another project's group: the trace looks for ports in the
// identity's project and the member's subnet only, and never fixes a group
// another project owns.
func TestDiagnoseStaysInTheIdentitysProject(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	neutron := neutrontest.NewServer()
	defer neutron.Close()
	octa := octaviatest.NewServer(octaviatest.Options{})
	defer octa.Close()
	const other = "0ther0ther0ther0ther0ther0ther00"

	_, ours := neutron.AddNetwork("k8s-nodes", "10.6.0.0/24")
	theirNet, theirs := neutron.AddNetwork("theirs", "10.6.0.0/24")
	foreign, err := groups.Create(ctx, neutron.ServiceClient(), groups.CreateOpts{Name: "theirs"}).Extract()
	g.Expect(err).NotTo(HaveOccurred())
	// cp-0's own port does not exist; another project's port holds its
	// address. cp-1's port carries another project's group.
	theirPort := neutron.AddPort("their-node", theirs[0], "10.6.0.11", foreign.ID)
	neutron.AddPort("cp-1", ours[0], "10.6.0.12", foreign.ID)
	for _, id := range []string{theirNet, theirs[0], theirPort, foreign.ID} {
		neutron.SetProject(id, other)
	}
	octa.Seed(octaviatest.LoadBalancerSpec{Name: "kubeapi", Listeners: []octaviatest.ListenerSpec{{Port: 6443, Pool: &octaviatest.PoolSpec{
		Members: []octaviatest.MemberSpec{
			{Name: "cp-0", Address: "10.6.0.11", ProtocolPort: 6443, SubnetID: ours[0], OperatingStatus: "ERROR"},
			{Name: "cp-1", Address: "10.6.0.12", ProtocolPort: 6443, SubnetID: ours[0], OperatingStatus: "ERROR"},
		}}}}})

	trace, err := Run(ctx, octa.ServiceClient(), neutron.ServiceClient(), neutrontest.DefaultProjectID, "kubeapi")
	g.Expect(err).NotTo(HaveOccurred())
	rows := map[string]Row{}
	for _, r := range trace.Rows {
		rows[r.MemberName] = r
	}
	g.Expect(rows).To(HaveLen(2))
	g.Expect(rows["cp-0"].Verdict).To(Equal(NoPort), "another project's port taken for cp-0's")
	g.Expect(rows["cp-1"].Fix).NotTo(BeNil())
	g.Expect(rows["cp-1"].FixProject).To(Equal(other))
	applied, err := Fix(ctx, neutron.ServiceClient(), trace)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(applied).To(BeEmpty(), "a rule was added to another project's group")
}
