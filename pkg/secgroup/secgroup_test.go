package secgroup

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

var subnet = netip.MustParsePrefix("10.6.0.0/24")

func TestAdmits(t *testing.T) {
	cases := []struct {
		name string
		rule Rule
		src  netip.Prefix
		port int
		want bool
	}{
		{"tcp port from the subnet", Rule{Direction: "ingress", EtherType: "IPv4", Protocol: "tcp", PortRangeMin: 6443, PortRangeMax: 6443, RemoteIPPrefix: "10.6.0.0/24"}, subnet, 6443, true},
		{"protocol number 6", Rule{Direction: "ingress", EtherType: "IPv4", Protocol: "6", PortRangeMin: 6443, PortRangeMax: 6443, RemoteIPPrefix: "10.6.0.0/24"}, subnet, 6443, true},
		{"any protocol, no ports", Rule{Direction: "ingress", EtherType: "IPv4", RemoteIPPrefix: "10.0.0.0/8"}, subnet, 6443, true},
		{"'any' protocol ignores a port range", Rule{Direction: "ingress", EtherType: "IPv4", Protocol: "any", PortRangeMin: 22, PortRangeMax: 22, RemoteIPPrefix: "10.0.0.0/8"}, subnet, 6443, true},
		{"tcp, no port range: all ports", Rule{Direction: "ingress", EtherType: "IPv4", Protocol: "tcp", RemoteIPPrefix: "10.6.0.0/16"}, subnet, 30080, true},
		{"min only is one port", Rule{Direction: "ingress", EtherType: "IPv4", Protocol: "tcp", PortRangeMin: 6443, RemoteIPPrefix: "10.6.0.0/24"}, subnet, 6444, false},
		{"port range", Rule{Direction: "ingress", EtherType: "IPv4", Protocol: "tcp", PortRangeMin: 30000, PortRangeMax: 32767, RemoteIPPrefix: "10.6.0.0/24"}, subnet, 31000, true},
		{"outside the range", Rule{Direction: "ingress", EtherType: "IPv4", Protocol: "tcp", PortRangeMin: 30000, PortRangeMax: 32767, RemoteIPPrefix: "10.6.0.0/24"}, subnet, 6443, false},
		{"udp does not admit tcp", Rule{Direction: "ingress", EtherType: "IPv4", Protocol: "udp", RemoteIPPrefix: "10.6.0.0/24"}, subnet, 6443, false},
		{"icmp does not admit tcp", Rule{Direction: "ingress", EtherType: "IPv4", Protocol: "icmp"}, subnet, 6443, false},
		{"egress never admits", Rule{Direction: "egress", EtherType: "IPv4", Protocol: "tcp"}, subnet, 6443, false},
		{"part of the subnet is not enough", Rule{Direction: "ingress", EtherType: "IPv4", Protocol: "tcp", RemoteIPPrefix: "10.6.0.0/25"}, subnet, 6443, false},
		{"a bare address", Rule{Direction: "ingress", EtherType: "IPv4", Protocol: "tcp", RemoteIPPrefix: "10.6.0.7"}, netip.MustParsePrefix("10.6.0.7/32"), 6443, true},
		{"another subnet", Rule{Direction: "ingress", EtherType: "IPv4", Protocol: "tcp", RemoteIPPrefix: "10.7.0.0/24"}, subnet, 6443, false},
		{"remote group (the default group's own members)", Rule{Direction: "ingress", EtherType: "IPv4", RemoteGroupID: "default-sg"}, subnet, 6443, false},
		{"no remote at all: anywhere", Rule{Direction: "ingress", EtherType: "IPv4", Protocol: "tcp", PortRangeMin: 6443, PortRangeMax: 6443}, subnet, 6443, true},
		{"IPv6 rule, IPv4 source", Rule{Direction: "ingress", EtherType: "IPv6", Protocol: "tcp"}, subnet, 6443, false},
		{"IPv6", Rule{Direction: "ingress", EtherType: "IPv6", Protocol: "tcp", RemoteIPPrefix: "fd00:6::/48"}, netip.MustParsePrefix("fd00:6:0:1::/64"), 6443, true},
		{"unparsable prefix admits nothing", Rule{Direction: "ingress", EtherType: "IPv4", Protocol: "tcp", RemoteIPPrefix: "ten-six"}, subnet, 6443, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.rule.Admits(tc.src, tc.port); got != tc.want {
				t.Fatalf("%s admits %s:%d = %v, want %v", tc.rule, tc.src, tc.port, got, tc.want)
			}
		})
	}
}

func TestCheckNamesTheMissingRule(t *testing.T) {
	// The project's default group: it admits only its own members.
	defaults := []Rule{
		{ID: "a", Direction: "ingress", EtherType: "IPv4", RemoteGroupID: "default"},
		{ID: "b", Direction: "ingress", EtherType: "IPv6", RemoteGroupID: "default"},
		{ID: "c", Direction: "egress", EtherType: "IPv4"},
	}
	v := Check(defaults, subnet, 6443)
	if v.Admitted || v.Missing == nil {
		t.Fatalf("the default group admitted the load balancer's subnet: %+v", v)
	}
	if got := v.Missing.String(); got != "ingress tcp port 6443 from 10.6.0.0/24" {
		t.Fatalf("missing rule %q", got)
	}
	v = Check(append(defaults, *v.Missing), subnet, 6443)
	if !v.Admitted || v.By == nil {
		t.Fatal("the named rule does not fix it")
	}
}

func TestPlan(t *testing.T) {
	v6 := netip.MustParsePrefix("fd00:6::/64")
	rules, errs := Plan(Policy{Mode: Enforce}, configured(subnet, v6), []Guarded{
		{GroupID: "cp", Ports: []int{6443, 6443, 6444, 9000}},
		{GroupID: "workers", NodePorts: true},
	})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	var got []string
	for _, r := range rules {
		got = append(got, r.SecurityGroupID+" "+r.String())
	}
	want := []string{
		"cp ingress tcp ports 6443-6444 from 10.6.0.0/24",
		"cp ingress tcp port 9000 from 10.6.0.0/24",
		"workers ingress tcp ports 30000-32767 from 10.6.0.0/24",
		"cp ingress tcp ports 6443-6444 from fd00:6::/64",
		"cp ingress tcp port 9000 from fd00:6::/64",
		"workers ingress tcp ports 30000-32767 from fd00:6::/64",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("planned:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if rules[0].Description == "" || !strings.Contains(rules[0].Description, "membergate") {
		t.Fatal("planned rules must be marked as ours")
	}
	if r, errs := Plan(Policy{Mode: Enforce}, configured(netip.MustParsePrefix("0.0.0.0/0")), []Guarded{{GroupID: "cp", Ports: []int{6443}}}); len(r) != 0 || len(errs) != 1 {
		t.Fatalf("0.0.0.0/0 planned without being allowed: %v %v", r, errs)
	}
	if r, _ := Plan(Policy{Mode: Enforce, AllowAnywhere: true}, configured(netip.MustParsePrefix("::/0")), []Guarded{{GroupID: "cp", Ports: []int{6443}}}); len(r) != 1 {
		t.Fatal("::/0 refused although allowed")
	}
	if r, _ := Plan(Policy{Mode: Disabled}, configured(subnet), []Guarded{{GroupID: "cp", Ports: []int{6443}}}); len(r) != 0 {
		t.Fatal("Disabled planned rules")
	}
	if r, _ := Plan(Policy{Mode: Enforce, AllTCP: true}, configured(subnet), []Guarded{{GroupID: "cp", Ports: []int{6443}}}); len(r) != 1 || r[0].PortRangeMin != 1 || r[0].PortRangeMax != 65535 {
		t.Fatalf("AllTCP: %v", r)
	}
}

func TestMissing(t *testing.T) {
	planned, _ := Plan(Policy{Mode: Enforce}, configured(subnet), []Guarded{{GroupID: "cp", Ports: []int{6443}}, {GroupID: "w", NodePorts: true}})
	existing := []Rule{
		{SecurityGroupID: "cp", Direction: "ingress", EtherType: "IPv4", Protocol: "tcp", RemoteIPPrefix: "10.0.0.0/8"},                                           // covers 6443
		{SecurityGroupID: "w", Direction: "ingress", EtherType: "IPv4", Protocol: "tcp", PortRangeMin: 30000, PortRangeMax: 31000, RemoteIPPrefix: "10.6.0.0/24"}, // part of the range
	}
	m := Missing(planned, existing)
	if len(m) != 1 || m[0].SecurityGroupID != "w" {
		t.Fatalf("missing %v, want only the workers' NodePort rule", m)
	}
	if m := Missing(planned, planned); len(m) != 0 {
		t.Fatalf("a group holding the planned rules still misses %v", m)
	}
}

// TestPlanNeverExceedsThePolicy is a property test over random policies,
// sources and targets: every planned rule's source is one of the sources
// (never the whole internet unless allowed), its ports are the target's
// ports, the NodePort range, or all TCP only when chosen; and once the rules
// exist, every source reaches every wanted port.
func TestPlanNeverExceedsThePolicy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for run := 0; run < 2000; run++ {
		p := Policy{Mode: Enforce, AllTCP: rng.IntN(10) == 0, AllowAnywhere: rng.IntN(4) == 0}
		if rng.IntN(2) == 0 {
			lo := 20000 + rng.IntN(10000)
			p.NodePorts = PortRange{lo, lo + rng.IntN(3000)}
		}
		var sources []netip.Prefix
		for i := rng.IntN(3); i >= 0; i-- {
			sources = append(sources, randomPrefix(rng))
		}
		var targets []Guarded
		for i := rng.IntN(3); i >= 0; i-- {
			tg := Guarded{GroupID: string(rune('a' + i)), NodePorts: rng.IntN(2) == 0}
			for j := rng.IntN(4); j > 0; j-- {
				tg.Ports = append(tg.Ports, 1+rng.IntN(65535))
			}
			targets = append(targets, tg)
		}
		rules, _ := Plan(p, configured(sources...), targets)
		np := p.NodePorts
		if np == (PortRange{}) {
			np = DefaultNodePorts
		}
		for _, r := range rules {
			src := netip.MustParsePrefix(r.RemoteIPPrefix)
			if !containsPrefix(sources, src) {
				t.Fatalf("run %d: source %s is not one of %v", run, src, sources)
			}
			if p.Refuse(Source{Prefix: src}) != nil {
				t.Fatalf("run %d: %s planned although the policy refuses it", run, src)
			}
			tg := targetOf(targets, r.SecurityGroupID)
			for port := r.PortRangeMin; port <= r.PortRangeMax; port += 1 + (r.PortRangeMax-r.PortRangeMin)/7 {
				if !p.AllTCP && !allowed(tg, np, port) {
					t.Fatalf("run %d: %s opens port %d, not in the target's ports %v or NodePorts %v", run, r, port, tg.Ports, np)
				}
			}
			if r.Direction != "ingress" || r.Protocol != "tcp" || r.EtherType != etherType(src) {
				t.Fatalf("run %d: malformed %+v", run, r)
			}
		}
		// Sufficient: every source reaches every wanted port.
		for _, src := range sources {
			if p.Refuse(Source{Prefix: src}) != nil {
				continue
			}
			for _, tg := range targets {
				group := inGroup(rules, tg.GroupID)
				for _, port := range tg.Ports {
					if !Check(group, src.Masked(), port).Admitted {
						t.Fatalf("run %d: %s cannot reach %s:%d after the plan", run, src, tg.GroupID, port)
					}
				}
			}
		}
	}
}

func randomPrefix(rng *rand.Rand) netip.Prefix {
	if rng.IntN(3) == 0 {
		var b [16]byte
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return netip.PrefixFrom(netip.AddrFrom16(b), rng.IntN(129)).Masked()
	}
	var b [4]byte
	for i := range b {
		b[i] = byte(rng.IntN(256))
	}
	return netip.PrefixFrom(netip.AddrFrom4(b), rng.IntN(33)).Masked()
}

func containsPrefix(ps []netip.Prefix, p netip.Prefix) bool {
	for _, q := range ps {
		if q.Masked() == p {
			return true
		}
	}
	return false
}

// inGroup returns the rules of one group.
func inGroup(rules []Rule, group string) []Rule {
	var out []Rule
	for _, r := range rules {
		if r.SecurityGroupID == group {
			out = append(out, r)
		}
	}
	return out
}

func targetOf(ts []Guarded, id string) Guarded {
	for _, t := range ts {
		if t.GroupID == id {
			return t
		}
	}
	return Guarded{}
}

func allowed(t Guarded, np PortRange, port int) bool {
	if t.NodePorts && port >= np.Min && port <= np.Max {
		return true
	}
	for _, p := range t.Ports {
		if p == port {
			return true
		}
	}
	return false
}

// configured are sources a person listed.
func configured(ps ...netip.Prefix) []Source {
	out := make([]Source, len(ps))
	for i, p := range ps {
		out[i] = Source{Prefix: p}
	}
	return out
}

func TestPolicyRefusesWideAndPublicSources(t *testing.T) {
	g := NewWithT(t)
	p := func(s string) netip.Prefix { return netip.MustParsePrefix(s) }
	cases := []struct {
		name   string
		policy Policy
		src    Source
		refuse string // "" admits
	}{
		{"half the internet, v4", Policy{}, Source{Prefix: p("0.0.0.0/1")}, "wider than /8"},
		{"the other half", Policy{}, Source{Prefix: p("128.0.0.0/1")}, "wider than /8"},
		{"half the internet, v6", Policy{}, Source{Prefix: p("::/1")}, "wider than /32"},
		{"the whole internet", Policy{}, Source{Prefix: p("0.0.0.0/0")}, "the whole internet"},
		{"10/8 is the widest", Policy{}, Source{Prefix: p("10.0.0.0/8")}, ""},
		{"10/7 is wider", Policy{}, Source{Prefix: p("10.0.0.0/7")}, "wider than /8"},
		{"a /32 v6 allocation", Policy{}, Source{Prefix: p("2001:db8::/32")}, ""},
		{"a v6 /31", Policy{}, Source{Prefix: p("2001:db8::/31")}, "wider than /32"},
		{"a narrower minimum", Policy{MinPrefixV4: 16}, Source{Prefix: p("10.0.0.0/12")}, "wider than /16, the widest source the manager admits (--min-source-prefix-v4)"},
		{"configured public", Policy{}, Source{Prefix: p("203.0.113.0/24")}, ""},
		{"derived public", Policy{}, Source{Prefix: p("203.0.113.0/24"), Derived: true}, "not a private range"},
		{"derived public v6", Policy{}, Source{Prefix: p("2001:db8:1::/64"), Derived: true}, "not a private range"},
		{"derived private", Policy{}, Source{Prefix: p("10.6.0.0/24"), Derived: true}, ""},
		{"derived shared space", Policy{}, Source{Prefix: p("100.64.3.0/24"), Derived: true}, ""},
		{"derived ULA", Policy{}, Source{Prefix: p("fd00:6::/64"), Derived: true}, ""},
		{"derived straddling private", Policy{}, Source{Prefix: p("172.0.0.0/8"), Derived: true}, "not a private range"},
		{"derived too wide", Policy{}, Source{Prefix: p("0.0.0.0/1"), Derived: true}, "wider than /8"},
		{"anywhere admits all", Policy{AllowAnywhere: true}, Source{Prefix: p("0.0.0.0/1"), Derived: true}, ""},
		{"anywhere admits public derived", Policy{AllowAnywhere: true}, Source{Prefix: p("203.0.113.0/24"), Derived: true}, ""},
	}
	for _, c := range cases {
		err := c.policy.Refuse(c.src)
		if c.refuse == "" {
			g.Expect(err).NotTo(HaveOccurred(), c.name)
			continue
		}
		g.Expect(err).To(MatchError(ContainSubstring(c.refuse)), c.name)
		rules, errs := Plan(Policy{Mode: Enforce, MinPrefixV4: c.policy.MinPrefixV4}, []Source{c.src}, []Guarded{{GroupID: "cp", Ports: []int{6443}}})
		g.Expect(rules).To(BeEmpty(), c.name)
		g.Expect(errs).To(HaveLen(1), c.name)
	}
}
