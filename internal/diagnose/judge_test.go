package diagnose

import (
	"testing"

	. "github.com/onsi/gomega"

	"github.com/membergate/membergate/pkg/secgroup"
)

// Judge is the per-member verdict the manager reuses with what its own
// pass read: no I/O, every verdict reachable.
func TestJudge(t *testing.T) {
	g := NewWithT(t)
	off, on := false, true
	self := secgroup.Rule{SecurityGroupID: "def", Direction: "ingress", EtherType: "IPv6", RemoteGroupID: "def"}
	subnetRule := secgroup.Rule{SecurityGroupID: "cp", Direction: "ingress", EtherType: "IPv6", Protocol: "tcp",
		PortRangeMin: 9443, PortRangeMax: 9443, RemoteIPPrefix: "2001:db8:6::/64"}

	row := Row{Address: "2001:db8:6::11", ProtocolPort: 6443, MonitorPort: 9443}
	g.Expect(Judge(&row, "2001:db8:6::/64", &Port{ID: "p", SecurityGroups: []string{"def"}, PortSecurityEnabled: &on}, []secgroup.Rule{self})).To(Succeed())
	g.Expect(row.Verdict).To(Equal(MissingRule))
	g.Expect(row.Fix.SecurityGroupID).To(Equal("def"))
	g.Expect(row.Fix.String()).To(Equal("ingress tcp port 9443 from 2001:db8:6::/64"), "the monitor port is what the checks use")

	row = Row{Address: "2001:db8:6::11", ProtocolPort: 6443, MonitorPort: 9443}
	g.Expect(Judge(&row, "2001:db8:6::/64", &Port{ID: "p", SecurityGroups: []string{"def", "cp"}}, []secgroup.Rule{self, subnetRule})).To(Succeed())
	g.Expect(row.Verdict).To(Equal(Admitted))
	g.Expect(row.By.SecurityGroupID).To(Equal("cp"))

	row = Row{Address: "2001:db8:6::11", ProtocolPort: 6443}
	g.Expect(Judge(&row, "2001:db8:6::/64", &Port{ID: "p", SecurityGroups: []string{"def"}, PortSecurityEnabled: &off}, nil)).To(Succeed())
	g.Expect(row.Verdict).To(Equal(PortSecurityOff))

	row = Row{Address: "2001:db8:6::11", ProtocolPort: 6443}
	g.Expect(Judge(&row, "2001:db8:6::/64", nil, nil)).To(Succeed())
	g.Expect(row.Verdict).To(Equal(NoPort))

	g.Expect(Judge(&row, "not-a-cidr", nil, nil)).NotTo(Succeed())
}
