package conformance

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"

	"github.com/membergate/membergate/pkg/neutrontest"
)

// neutronBed is a port on a subnet in a group, on real Neutron or the
// emulator: what security-group enforcement and diagnosis read and write.
type neutronBed struct {
	c                 *gophercloud.ServiceClient
	group, port, cidr string
	address, subnetID string
	cleanup           func()
}

func realNeutronBed(t *testing.T) *neutronBed {
	s := realStack(t)
	c := s.neutron(t)
	project := s.get("OS_PROJECT_ID")
	suffix := fmt.Sprint(time.Now().UnixNano())
	net, err := networks.Create(ctx, c, networks.CreateOpts{Name: "emucheck-" + suffix, ProjectID: project}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	sub, err := subnets.Create(ctx, c, subnets.CreateOpts{NetworkID: net.ID, CIDR: "10.79.0.0/24", IPVersion: gophercloud.IPv4, ProjectID: project}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	g, err := groups.Create(ctx, c, groups.CreateOpts{Name: "nodes-" + suffix, ProjectID: project}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	p, err := ports.Create(ctx, c, ports.CreateOpts{NetworkID: net.ID, ProjectID: project, SecurityGroups: &[]string{g.ID},
		FixedIPs: []ports.IP{{SubnetID: sub.ID, IPAddress: "10.79.0.11"}}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	return &neutronBed{c: c, group: g.ID, port: p.ID, cidr: sub.CIDR, address: "10.79.0.11", subnetID: sub.ID, cleanup: func() {
		_ = ports.Delete(ctx, c, p.ID).ExtractErr()
		_ = groups.Delete(ctx, c, g.ID).ExtractErr()
		_ = networks.Delete(ctx, c, net.ID).ExtractErr()
	}}
}

func emulatedNeutronBed(t *testing.T) *neutronBed {
	s := neutrontest.NewServer()
	_, subs := s.AddNetwork("emucheck", "10.79.0.0/24")
	c := s.ServiceClient()
	g, err := groups.Create(ctx, c, groups.CreateOpts{Name: "nodes"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	p := s.AddPort("cp-0", subs[0], "10.79.0.11", g.ID)
	return &neutronBed{c: c, group: g.ID, port: p, cidr: "10.79.0.0/24", address: "10.79.0.11", subnetID: subs[0], cleanup: s.Close}
}

// TestNeutronEmulatorConformance runs what enforcement and diagnosis do
// against both, and asserts the same observable behaviour.
func TestNeutronEmulatorConformance(t *testing.T) {
	for name, mk := range map[string]func(*testing.T) *neutronBed{"emulator": emulatedNeutronBed, "real Neutron": realNeutronBed} {
		t.Run(name, func(t *testing.T) {
			b := mk(t)
			defer b.cleanup()
			// A new group: Neutron's two egress rules, nothing else.
			g, err := groups.Get(ctx, b.c, b.group).Extract()
			if err != nil {
				t.Fatal(err)
			}
			if got := ruleShapes(g.Rules); got != "egress IPv4 any;egress IPv6 any" {
				t.Errorf("new group rules = %s", got)
			}
			// The port behind an address, with its groups.
			pages, err := ports.List(b.c, ports.ListOpts{FixedIPs: []ports.FixedIPOpts{{IPAddress: b.address}}}).AllPages(ctx)
			if err != nil {
				t.Fatal(err)
			}
			found, _ := ports.ExtractPorts(pages)
			if len(found) != 1 || found[0].ID != b.port || len(found[0].SecurityGroups) != 1 || found[0].SecurityGroups[0] != b.group {
				t.Fatalf("ports by fixed IP = %+v", found)
			}
			// A rule, and the same again: 409 SecurityGroupRuleExists naming it.
			opts := rules.CreateOpts{SecGroupID: b.group, Direction: rules.DirIngress, EtherType: rules.EtherType4, Protocol: rules.ProtocolTCP,
				PortRangeMin: 6443, PortRangeMax: 6443, RemoteIPPrefix: b.cidr}
			r, err := rules.Create(ctx, b.c, opts).Extract()
			if err != nil {
				t.Fatal(err)
			}
			_, err = rules.Create(ctx, b.c, opts).Extract()
			ne, body := neutronErr(t, err, 409)
			if ne.NeutronError.Type != "SecurityGroupRuleExists" || ne.NeutronError.Message != "Security group rule already exists. Rule id is "+r.ID+"." {
				t.Errorf("duplicate rule: %s", body)
			}
			// The group is in use by the port.
			err = groups.Delete(ctx, b.c, b.group).ExtractErr()
			ne, body = neutronErr(t, err, 409)
			if ne.NeutronError.Type != "SecurityGroupInUse" || !regexp.MustCompile(`^Security Group \S+ in use\.$`).MatchString(ne.NeutronError.Message) {
				t.Errorf("group in use: %s", body)
			}
			if err := rules.Delete(ctx, b.c, r.ID).ExtractErr(); err != nil {
				t.Fatal(err)
			}
			_, body = neutronErr(t, rules.Delete(ctx, b.c, r.ID).ExtractErr(), 404)
			if !regexp.MustCompile(`"type": ?"SecurityGroupRuleNotFound"`).MatchString(body) {
				t.Errorf("missing rule: %s", body)
			}
		})
	}
}
