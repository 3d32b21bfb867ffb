package webhooks

import (
	"fmt"
	"net/netip"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/pkg/secgroup"
)

// defaultSecurityGroups shows the security-group policy in force: Audit
// (report, change nothing) unless an operator opts in to Enforce, and the
// Kubernetes NodePort range.
func defaultSecurityGroups(s *v1alpha1.MemberGateSpec) {
	if s.SecurityGroups == nil {
		s.SecurityGroups = &v1alpha1.SecurityGroupsSpec{}
	}
	sg := s.SecurityGroups
	if sg.Mode == "" {
		sg.Mode = v1alpha1.SecurityGroupsAudit
	}
	if sg.NodePortRange == nil {
		sg.NodePortRange = &v1alpha1.PortRange{Min: int32(secgroup.DefaultNodePorts.Min), Max: int32(secgroup.DefaultNodePorts.Max)}
	}
}

// validateSecurityGroups checks the policy: a known mode, a sane NodePort
// range, and sources that are CIDRs no wider than the manager admits
// (minV4, minV6) unless allowAnywhere says so — the controller's own rule,
// secgroup.Policy.Refuse.
func validateSecurityGroups(sg *v1alpha1.SecurityGroupsSpec, path *field.Path, minV4, minV6 int) (field.ErrorList, admission.Warnings) {
	if sg == nil {
		return nil, nil
	}
	var errs field.ErrorList
	var warnings admission.Warnings
	errs = append(errs, enum(path.Child("mode"), sg.Mode, v1alpha1.SecurityGroupsEnforce, v1alpha1.SecurityGroupsAudit, v1alpha1.SecurityGroupsDisabled)...)
	if r := sg.NodePortRange; r != nil {
		p := path.Child("nodePortRange")
		for _, end := range []struct {
			name string
			v    int32
		}{{"min", r.Min}, {"max", r.Max}} {
			if end.v < 1 || end.v > 65535 {
				errs = append(errs, field.Invalid(p.Child(end.name), end.v, "must be a TCP port, 1-65535 (the Kubernetes default range is 30000-32767)"))
			}
		}
		if r.Min > r.Max {
			errs = append(errs, field.Invalid(p, fmt.Sprintf("%d-%d", r.Min, r.Max),
				fmt.Sprintf("min must not exceed max: did you mean %d-%d?", r.Max, r.Min)))
		} else if d := secgroup.DefaultNodePorts; sg.Workers && (int(r.Min) < d.Min || int(r.Max) > d.Max) {
			// Ports below 30000 are where node services listen (SSH, the
			// kubelet, etcd): opening them to the load balancer's subnet
			// admits everything on it to those too.
			warnings = append(warnings, fmt.Sprintf("%s %d-%d is wider than the Kubernetes default %d-%d: the workers' groups will admit the load balancer's subnet to every port in it",
				p, r.Min, r.Max, d.Min, d.Max))
		}
	}
	seen := map[netip.Prefix]bool{}
	for i, src := range sg.Sources {
		p := path.Child("sources").Index(i)
		prefix, err := netip.ParsePrefix(src)
		if err != nil {
			if addr, aerr := netip.ParseAddr(src); aerr == nil {
				errs = append(errs, field.Invalid(p, src, fmt.Sprintf("must be a CIDR: write %s for this one address", netip.PrefixFrom(addr, addr.BitLen()))))
			} else {
				errs = append(errs, field.Invalid(p, src, "must be a CIDR such as 10.6.0.0/24 or 2001:db8::/64"))
			}
			continue
		}
		if masked := prefix.Masked(); masked != prefix {
			errs = append(errs, field.Invalid(p, src, fmt.Sprintf("has host bits set: write %s", masked)))
			continue
		}
		pol := secgroup.Policy{AllowAnywhere: sg.AllowAnywhere, MinPrefixV4: minV4, MinPrefixV6: minV6}
		if err := pol.Refuse(secgroup.Source{Prefix: prefix}); err != nil {
			errs = append(errs, field.Forbidden(p, err.Error()))
		}
		if seen[prefix] {
			errs = append(errs, field.Duplicate(p, src))
		}
		seen[prefix] = true
	}
	if sg.AllTCP {
		warnings = append(warnings, fmt.Sprintf("%s opens every TCP port of the nodes' groups to the sources; leave it unset to open only the members' ports", path.Child("allTCP")))
	}
	return errs, warnings
}
