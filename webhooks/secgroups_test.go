package webhooks

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/membergate/membergate/api/v1alpha1"
)

func withSG(mod func(*v1alpha1.SecurityGroupsSpec)) *v1alpha1.MemberGate {
	return gateWith(func(s *v1alpha1.MemberGateSpec) {
		s.SecurityGroups = &v1alpha1.SecurityGroupsSpec{}
		mod(s.SecurityGroups)
	})
}

func TestValidateSecurityGroups(t *testing.T) {
	cases := []struct {
		name    string
		mg      *v1alpha1.MemberGate
		errs    []string // substrings the error must contain; none = valid
		warning string
	}{
		{name: "empty policy", mg: withSG(func(*v1alpha1.SecurityGroupsSpec) {})},
		{name: "every field set sensibly", mg: withSG(func(sg *v1alpha1.SecurityGroupsSpec) {
			sg.Mode, sg.Workers, sg.NodePortRange = v1alpha1.SecurityGroupsEnforce, true, &v1alpha1.PortRange{Min: 30000, Max: 30100}
			sg.Sources = []string{"10.6.0.0/24", "2001:db8:6::/64"}
		})},
		{name: "one-port range", mg: withSG(func(sg *v1alpha1.SecurityGroupsSpec) { sg.NodePortRange = &v1alpha1.PortRange{Min: 31000, Max: 31000} })},
		{name: "unknown mode", mg: withSG(func(sg *v1alpha1.SecurityGroupsSpec) { sg.Mode = "Enforcing" }),
			errs: []string{"spec.securityGroups.mode", `"Enforce"`, `"Audit"`}},
		{name: "port zero", mg: withSG(func(sg *v1alpha1.SecurityGroupsSpec) { sg.NodePortRange = &v1alpha1.PortRange{Min: 0, Max: 100} }),
			errs: []string{"spec.securityGroups.nodePortRange.min", "1-65535"}},
		{name: "port too high", mg: withSG(func(sg *v1alpha1.SecurityGroupsSpec) { sg.NodePortRange = &v1alpha1.PortRange{Min: 30000, Max: 70000} }),
			errs: []string{"spec.securityGroups.nodePortRange.max", "1-65535"}},
		{name: "range reversed", mg: withSG(func(sg *v1alpha1.SecurityGroupsSpec) { sg.NodePortRange = &v1alpha1.PortRange{Min: 32767, Max: 30000} }),
			errs: []string{"spec.securityGroups.nodePortRange", "min must not exceed max", "did you mean 30000-32767"}},
		{name: "not a CIDR", mg: withSG(func(sg *v1alpha1.SecurityGroupsSpec) { sg.Sources = []string{"lb-subnet"} }),
			errs: []string{"spec.securityGroups.sources[0]", "must be a CIDR such as"}},
		{name: "a bare address", mg: withSG(func(sg *v1alpha1.SecurityGroupsSpec) { sg.Sources = []string{"10.6.0.7"} }),
			errs: []string{"spec.securityGroups.sources[0]", "write 10.6.0.7/32"}},
		{name: "host bits", mg: withSG(func(sg *v1alpha1.SecurityGroupsSpec) { sg.Sources = []string{"10.6.0.0/24", "10.6.1.5/24"} }),
			errs: []string{"spec.securityGroups.sources[1]", "write 10.6.1.0/24"}},
		{name: "IPv4 anywhere refused", mg: withSG(func(sg *v1alpha1.SecurityGroupsSpec) { sg.Sources = []string{"0.0.0.0/0"} }),
			errs: []string{"spec.securityGroups.sources[0]", "whole internet", "allowAnywhere: true"}},
		{name: "IPv6 anywhere refused", mg: withSG(func(sg *v1alpha1.SecurityGroupsSpec) { sg.Sources = []string{"10.6.0.0/24", "::/0"} }),
			errs: []string{"spec.securityGroups.sources[1]", "::/0: it admits the whole internet"}},
		{name: "half the internet refused", mg: withSG(func(sg *v1alpha1.SecurityGroupsSpec) { sg.Sources = []string{"0.0.0.0/1", "128.0.0.0/1"} }),
			errs: []string{"spec.securityGroups.sources[0]", "spec.securityGroups.sources[1]", "wider than /8", "--min-source-prefix-v4"}},
		{name: "half the IPv6 internet refused", mg: withSG(func(sg *v1alpha1.SecurityGroupsSpec) { sg.Sources = []string{"::/1"} }),
			errs: []string{"spec.securityGroups.sources[0]", "wider than /32"}},
		{name: "wide sources when allowed", mg: withSG(func(sg *v1alpha1.SecurityGroupsSpec) {
			sg.Sources, sg.AllowAnywhere = []string{"0.0.0.0/1", "::/1"}, true
		})},
		{name: "a wide NodePort range warns", mg: withSG(func(sg *v1alpha1.SecurityGroupsSpec) {
			sg.Workers, sg.NodePortRange = true, &v1alpha1.PortRange{Min: 1024, Max: 32767}
		}), warning: "wider than the Kubernetes default 30000-32767"},
		{name: "anywhere when allowed", mg: withSG(func(sg *v1alpha1.SecurityGroupsSpec) {
			sg.Sources, sg.AllowAnywhere = []string{"0.0.0.0/0", "::/0"}, true
		})},
		{name: "duplicate source", mg: withSG(func(sg *v1alpha1.SecurityGroupsSpec) { sg.Sources = []string{"10.6.0.0/24", "10.6.0.0/24"} }),
			errs: []string{"spec.securityGroups.sources[1]", "Duplicate"}},
		{name: "all TCP warns", mg: withSG(func(sg *v1alpha1.SecurityGroupsSpec) { sg.AllTCP = true }), warning: "every TCP port"},
		{name: "several errors at once", mg: withSG(func(sg *v1alpha1.SecurityGroupsSpec) {
			sg.Mode, sg.Sources = "x", []string{"::/0"}
		}), errs: []string{"spec.securityGroups.mode", "spec.securityGroups.sources[0]"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			warnings := expectValidate(t, tc.mg, nil, tc.errs, tc.warning)
			if tc.warning == "" {
				NewWithT(t).Expect(warnings).To(BeEmpty())
			}
		})
	}
}

func TestDefaultSecurityGroups(t *testing.T) {
	g := NewWithT(t)
	mg := gateWith(nil)
	g.Expect(MemberGate{}.Default(context.Background(), mg)).To(Succeed())
	sg := mg.Spec.SecurityGroups
	g.Expect(sg).NotTo(BeNil())
	g.Expect(sg.Mode).To(Equal(v1alpha1.SecurityGroupsAudit), "changing a cloud's firewall must be opted into")
	g.Expect(*sg.NodePortRange).To(Equal(v1alpha1.PortRange{Min: 30000, Max: 32767}))
	g.Expect(sg.Workers || sg.AllTCP || sg.AllowAnywhere).To(BeFalse())

	set := withSG(func(sg *v1alpha1.SecurityGroupsSpec) {
		sg.Mode, sg.NodePortRange = v1alpha1.SecurityGroupsEnforce, &v1alpha1.PortRange{Min: 31000, Max: 31999}
	})
	g.Expect(MemberGate{}.Default(context.Background(), set)).To(Succeed())
	g.Expect(set.Spec.SecurityGroups.Mode).To(Equal(v1alpha1.SecurityGroupsEnforce))
	g.Expect(set.Spec.SecurityGroups.NodePortRange.Min).To(BeEquivalentTo(31000), "what the user set is kept")
}

// The webhook refuses what the manager's --min-source-prefix flags make
// the controller refuse, not only the defaults.
func TestValidateSourcesWithTheManagersMinimum(t *testing.T) {
	g := NewWithT(t)
	w := MemberGate{MinSourcePrefixV4: 16, MinSourcePrefixV6: 48}
	mg := withSG(func(sg *v1alpha1.SecurityGroupsSpec) {
		sg.Sources = []string{"10.0.0.0/12", "fd00::/40", "10.6.0.0/16"}
	})
	_, err := w.validate(mg, nil)
	g.Expect(err).To(MatchError(And(ContainSubstring("sources[0]"), ContainSubstring("wider than /16"),
		ContainSubstring("sources[1]"), ContainSubstring("wider than /48"))))
	g.Expect(err.Error()).NotTo(ContainSubstring("sources[2]"))
	_, err = validate(mg, nil)
	g.Expect(err).NotTo(HaveOccurred(), "the defaults (/8, /32) admit all three")
}

// A MemberGate accepted before a rule tightened (here a source wider than
// today's minimum) still takes updates that leave its spec alone — its
// controllers' finalizers — while a change of its spec is checked.
func TestValidateLetsSpecPreservingUpdatesThrough(t *testing.T) {
	g := NewWithT(t)
	old := withSG(func(sg *v1alpha1.SecurityGroupsSpec) { sg.Sources = []string{"0.0.0.0/1"} })
	upd := old.DeepCopy()
	upd.Finalizers = nil
	upd.Labels = map[string]string{"x": "y"}
	warnings, err := validate(upd, old)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(warnings).To(ContainElement(ContainSubstring("wider than /8")))
	upd.Spec.SecurityGroups.Workers = true
	_, err = validate(upd, old)
	g.Expect(err).To(MatchError(ContainSubstring("wider than /8")))
}
