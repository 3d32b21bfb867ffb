package secgroup

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// EnforcementMode is how the rules are enforced.
type EnforcementMode string

const (
	Enforce  EnforcementMode = "Enforce"
	Audit    EnforcementMode = "Audit"
	Disabled EnforcementMode = "Disabled"
)

// DefaultNodePorts is Kubernetes' default NodePort range.
var DefaultNodePorts = PortRange{Min: 30000, Max: 32767}

// The widest sources a policy admits without AllowAnywhere. A /8 is the
// widest private IPv4 block (10.0.0.0/8); a /32 is the widest IPv6
// allocation a site gets. Anything wider is the internet in all but name:
// 0.0.0.0/1 and 128.0.0.0/1 together are 0.0.0.0/0.
const (
	DefaultMinPrefixV4 = 8
	DefaultMinPrefixV6 = 32
)

// PortRange is an inclusive range of TCP ports.
type PortRange struct{ Min, Max int }

// Policy says what may be opened.
type Policy struct {
	Mode EnforcementMode
	// NodePorts is opened on worker nodes' groups; zero means the default.
	NodePorts PortRange
	// AllTCP opens every TCP port instead of the members' ports; only when
	// chosen explicitly.
	AllTCP bool
	// AllowAnywhere permits any source, 0.0.0.0/0 and ::/0 included (a
	// load balancer on a public subnet, say). Without it, sources wider
	// than the minimum prefixes, and derived sources that are public, are
	// refused.
	AllowAnywhere bool
	// MinPrefixV4 and MinPrefixV6 bound how wide a source may be without
	// AllowAnywhere: a shorter prefix is refused. Zero means the defaults.
	MinPrefixV4, MinPrefixV6 int
	// Tag marks the rules as ours, in their description.
	Tag string
}

// Guarded is one security group to guard, with the ports it must admit.
type Guarded struct {
	GroupID string
	// Ports are the members' protocol and monitor ports (control-plane
	// nodes); NodePorts asks for the NodePort range (workers).
	Ports     []int
	NodePorts bool
}

// Source is a CIDR to admit.
type Source struct {
	Prefix netip.Prefix
	// Derived: the CIDR is what Neutron reports for the load balancer's
	// subnet, not one a person configured. A cloud the manager does not
	// control chose it, so it must also be private to be admitted.
	Derived bool
}

// privateRanges are the blocks a derived source must lie in: RFC 1918,
// RFC 6598's shared space (carrier-grade NAT, used by some clouds' tenant
// networks) and IPv6 unique local addresses. None is routed on the internet.
var privateRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("fc00::/7"),
}

// Refuse returns why the policy refuses to admit a source, or nil.
func (p Policy) Refuse(s Source) error {
	src := s.Prefix.Masked()
	if p.AllowAnywhere {
		return nil
	}
	minBits, flag := p.MinPrefixV4, "v4"
	if minBits == 0 {
		minBits = DefaultMinPrefixV4
	}
	if !src.Addr().Is4() {
		minBits, flag = p.MinPrefixV6, "v6"
		if minBits == 0 {
			minBits = DefaultMinPrefixV6
		}
	}
	what := "source " + src.String()
	if s.Derived {
		what = "subnet CIDR " + src.String() + " (as Neutron reports the load balancer's subnet)"
	}
	switch {
	case src.Bits() == 0:
		return fmt.Errorf("refusing %s: it admits the whole internet; list narrower sources, or set allowAnywhere: true if that is meant", what)
	case src.Bits() < minBits:
		return fmt.Errorf("refusing %s: wider than /%d, the widest source the manager admits (--min-source-prefix-%s); list narrower sources, or set allowAnywhere: true if that is meant",
			what, minBits, flag)
	case s.Derived && !slices.ContainsFunc(privateRanges, func(r netip.Prefix) bool { return contains(r, src) }):
		return fmt.Errorf("refusing %s: it is not a private range, and a rule from it would admit internet addresses; list spec.securityGroups.sources, or set allowAnywhere: true if the load balancer is meant to be on a public subnet",
			what)
	}
	return nil
}

// Plan returns the rules each guarded group needs so that every source
// (the subnets the load balancer reaches members from) reaches its ports:
// one rule per group, source and port range, never wider than the policy.
// Sources the policy refuses are returned as errors, not planned.
func Plan(p Policy, sources []Source, guarded []Guarded) ([]Rule, []error) {
	if p.Mode == Disabled {
		return nil, nil
	}
	np := p.NodePorts
	if np == (PortRange{}) {
		np = DefaultNodePorts
	}
	var rules []Rule
	var errs []error
	for _, s := range sources {
		src := s.Prefix.Masked()
		if err := p.Refuse(s); err != nil {
			errs = append(errs, err)
			continue
		}
		for _, t := range guarded {
			for _, pr := range ranges(t, np, p.AllTCP) {
				rules = append(rules, Rule{SecurityGroupID: t.GroupID, Direction: "ingress", EtherType: etherType(src), Protocol: "tcp",
					PortRangeMin: pr.Min, PortRangeMax: pr.Max, RemoteIPPrefix: src.String(), Description: p.description(pr)})
			}
		}
	}
	return dedupe(rules), errs
}

func (p Policy) description(pr PortRange) string {
	tag := p.Tag
	if tag == "" {
		tag = "membergate"
	}
	return fmt.Sprintf("%s: load balancer to members, TCP %d-%d", tag, pr.Min, pr.Max)
}

// ranges turns a guarded group's ports into ranges, merging neighbours.
func ranges(t Guarded, np PortRange, allTCP bool) []PortRange {
	if allTCP {
		return []PortRange{{1, 65535}}
	}
	ports := slices.Clone(t.Ports)
	slices.Sort(ports)
	ports = slices.Compact(ports)
	var out []PortRange
	for _, port := range ports {
		if port < 1 || port > 65535 {
			continue
		}
		if n := len(out); n > 0 && out[n-1].Max+1 == port {
			out[n-1].Max = port
			continue
		}
		out = append(out, PortRange{port, port})
	}
	if t.NodePorts {
		out = append(out, np)
	}
	return out
}

func dedupe(rules []Rule) []Rule {
	seen := map[string]bool{}
	var out []Rule
	for _, r := range rules {
		k := strings.Join([]string{r.SecurityGroupID, r.EtherType, r.RemoteIPPrefix, fmt.Sprint(r.PortRangeMin, "-", r.PortRangeMax)}, "|")
		if !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	return out
}

// Missing returns the planned rules that no existing rule of their group
// already covers: what enforcement must create. A planned rule is covered
// when an existing rule admits every port of it from its whole source.
func Missing(planned, existing []Rule) []Rule {
	var out []Rule
	for _, want := range planned {
		src := netip.MustParsePrefix(want.RemoteIPPrefix)
		covered := false
		for _, have := range existing {
			if have.SecurityGroupID != want.SecurityGroupID {
				continue
			}
			if have.Admits(src, want.PortRangeMin) && have.Admits(src, want.PortRangeMax) && (have.allPorts() || spans(have, want)) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, want)
		}
	}
	return out
}

func spans(have, want Rule) bool {
	lo, hi := have.ports()
	return lo <= want.PortRangeMin && want.PortRangeMax <= hi
}
