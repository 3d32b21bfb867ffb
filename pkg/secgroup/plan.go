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
	// AllowAnywhere permits a source of 0.0.0.0/0 or ::/0 (a load balancer
	// on a public subnet, say); otherwise such sources are refused.
	AllowAnywhere bool
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

// Plan returns the rules each guarded group needs so that every source
// (the subnets the load balancer reaches members from) reaches its ports:
// one rule per group, source and port range, never wider than the policy.
// Sources the policy refuses are returned as errors, not planned.
func Plan(p Policy, sources []netip.Prefix, guarded []Guarded) ([]Rule, []error) {
	if p.Mode == Disabled {
		return nil, nil
	}
	np := p.NodePorts
	if np == (PortRange{}) {
		np = DefaultNodePorts
	}
	var rules []Rule
	var errs []error
	for _, src := range sources {
		src = src.Masked()
		if src.Bits() == 0 && !p.AllowAnywhere {
			errs = append(errs, fmt.Errorf("refusing source %s: it admits the whole internet; allow it explicitly if that is meant", src))
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
