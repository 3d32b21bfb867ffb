package securitygroup

import (
	"net/netip"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/pkg/secgroup"
)

func TestSGPolicyDefaults(t *testing.T) {
	g := NewWithT(t)
	p := policyOf(&v1alpha1.MemberGate{})
	g.Expect(p.Mode).To(Equal(secgroup.Audit), "unset must change nothing")
	g.Expect(p.NodePorts).To(Equal(secgroup.DefaultNodePorts))
	p = policyOf(&v1alpha1.MemberGate{Spec: v1alpha1.MemberGateSpec{SecurityGroups: &v1alpha1.SecurityGroupsSpec{
		Mode: v1alpha1.SecurityGroupsEnforce, NodePortRange: &v1alpha1.PortRange{Min: 31000, Max: 31100}, Sources: []string{"10.6.0.5/24", "junk"}}}})
	g.Expect(p.Mode).To(Equal(secgroup.Enforce))
	g.Expect(p.NodePorts).To(Equal(secgroup.PortRange{Min: 31000, Max: 31100}))
	g.Expect(p.sources).To(HaveLen(1), "what does not parse is left out, not guessed at")
	g.Expect(p.sources[0]).To(Equal(secgroup.Source{Prefix: netip.MustParsePrefix("10.6.0.0/24")}), "a configured source is not derived")
}
