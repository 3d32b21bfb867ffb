package secgroup

// Fuzz targets for the security-group evaluator and planner. Run with
// hack/fuzz.sh, or e.g.
//
//	go test -run '^$' -fuzz '^FuzzAdmits$' -fuzztime 30s ./pkg/secgroup/
//
// The seed corpus is under testdata/fuzz/<target>.

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// prefixFrom builds a valid prefix from fuzzed bytes: 4 bytes or fewer make
// an IPv4 address, more an IPv6 one.
func prefixFrom(b []byte, bits uint8) netip.Prefix {
	var a netip.Addr
	if len(b) <= 4 {
		var v4 [4]byte
		copy(v4[:], b)
		a = netip.AddrFrom4(v4)
	} else {
		var v6 [16]byte
		copy(v6[:], b)
		a = netip.AddrFrom16(v6)
	}
	return netip.PrefixFrom(a, int(bits)%(a.BitLen()+1)).Masked()
}

// lastAddr is the highest address of a prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// FuzzAdmits checks Neutron's rule semantics as Admits reads them: egress,
// other protocols and remote groups never admit; an admitting rule's ether
// type, port range and remote prefix contain what it admits; a rule that
// admits a subnet admits every part of it; and the rule Check proposes
// when none admits does admit.
func FuzzAdmits(f *testing.F) {
	f.Add("ingress", "IPv4", "tcp", 6443, 6443, "10.6.0.0/24", "", []byte{10, 6, 0, 0}, uint8(24), 6443)
	f.Add("egress", "IPv4", "tcp", 0, 0, "", "", []byte{10, 6, 0, 0}, uint8(24), 6443)
	f.Add("INGRESS", "IPv4", "6", 1, 0, "10.6.0.7", "", []byte{10, 6, 0, 7}, uint8(32), 1)
	f.Add("ingress", "IPv4", "any", 22, 22, "10.0.0.0/8", "", []byte{10, 6, 0, 0}, uint8(24), 6443)
	f.Add("ingress", "IPv4", "", 0, 0, "", "default", []byte{10, 6, 0, 0}, uint8(24), 6443)
	f.Add("ingress", "IPv6", "tcp", 30000, 32767, "fd00:6::/48", "", []byte{0xfd, 0, 0, 6, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, uint8(64), 31000)
	f.Add("ingress", "IPv4", "udp", 0, 0, "0.0.0.0/0", "", []byte{}, uint8(0), 53)
	f.Fuzz(func(t *testing.T, dir, ether, proto string, lo, hi int, remote, group string, src []byte, bits uint8, port int) {
		r := Rule{Direction: dir, EtherType: ether, Protocol: proto, PortRangeMin: lo, PortRangeMax: hi, RemoteIPPrefix: remote, RemoteGroupID: group}
		p := prefixFrom(src, bits)
		admits := r.Admits(p, port)
		if v := Check([]Rule{r}, p, port); v.Admitted != admits {
			t.Fatalf("Check says %v, Admits %v", v.Admitted, admits)
		} else if !admits && port >= 1 && port <= 65535 {
			if v.Missing == nil || !v.Missing.Admits(p, port) {
				t.Fatalf("the proposed rule %v does not admit TCP %d from %s", v.Missing, port, p)
			}
			if v.Missing.RemoteIPPrefix != p.String() {
				t.Fatalf("the proposed rule opens %s for %s", v.Missing.RemoteIPPrefix, p)
			}
		}
		if !admits {
			return
		}
		switch {
		case !strings.EqualFold(dir, "ingress"):
			t.Fatalf("%q rule admits", dir)
		case group != "":
			t.Fatal("a remote-group rule admits a CIDR")
		case !r.coversTCP():
			t.Fatalf("protocol %q admits TCP", proto)
		case ether != etherType(p):
			t.Fatalf("an %s rule admits %s", ether, p)
		}
		if !r.allPorts() {
			if l, h := r.ports(); port < l || port > h {
				t.Fatalf("range %d-%d admits port %d", lo, hi, port)
			}
		}
		if remote != "" {
			rp, err := netip.ParsePrefix(remote)
			if err != nil {
				a, aerr := netip.ParseAddr(remote)
				if aerr != nil {
					t.Fatalf("unparsable remote %q admits", remote)
				}
				rp = netip.PrefixFrom(a, a.BitLen())
			}
			if !rp.Contains(p.Addr()) || !rp.Contains(lastAddr(p)) {
				t.Fatalf("remote %s admits %s, which it does not contain", remote, p)
			}
		}
		// Every part of an admitted subnet is admitted.
		if p.Bits() < p.Addr().BitLen() {
			half := netip.PrefixFrom(lastAddr(p), p.Bits()+1).Masked()
			if !r.Admits(half, port) || !r.Admits(netip.PrefixFrom(p.Addr(), p.Bits()+1), port) {
				t.Fatalf("admits %s but not its halves", p)
			}
		}
	})
}

// FuzzPlan checks that the planner never exceeds its policy: only ingress
// TCP from the given sources (never the whole internet unless allowed), to
// the requested ports only; that what it plans admits every requested port
// from every accepted source; and that Missing agrees with it.
func FuzzPlan(f *testing.F) {
	f.Add([]byte{10, 6, 0, 0}, uint8(24), []byte{0xfd, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, uint8(64), []byte{0x19, 0x2b, 0x19, 0x2c}, false, 0, 0, false, false, uint8(0))
	f.Add([]byte{}, uint8(0), []byte{10, 6, 0, 0}, uint8(24), []byte{0x19, 0x2b}, true, 30000, 32767, false, false, uint8(0))
	f.Add([]byte{}, uint8(0), []byte{192, 168, 0, 0}, uint8(16), []byte{}, true, 0, 0, true, true, uint8(1))
	f.Add([]byte{10, 6, 0, 0}, uint8(24), []byte{10, 6, 0, 0}, uint8(24), []byte{0, 0, 0xff, 0xff}, false, 0, 0, false, false, uint8(2))
	f.Fuzz(func(t *testing.T, srcA []byte, bitsA uint8, srcB []byte, bitsB uint8, portBytes []byte, nodePorts bool, npMin, npMax int,
		allTCP, anywhere bool, mode uint8) {
		var ports []int
		for i := 0; i+1 < len(portBytes); i += 2 {
			ports = append(ports, int(portBytes[i])<<8|int(portBytes[i+1]))
		}
		np := PortRange{Min: npMin, Max: npMax}
		if np.Min < 1 || np.Max > 65535 || np.Min > np.Max {
			np = PortRange{} // what a validated policy can hold; the zero value is the default range
		}
		pol := Policy{Mode: []EnforcementMode{Enforce, Audit, Disabled}[mode%3], NodePorts: np, AllTCP: allTCP, AllowAnywhere: anywhere}
		sources := []netip.Prefix{prefixFrom(srcA, bitsA), prefixFrom(srcB, bitsB)}
		targets := []Guarded{{GroupID: "cp", Ports: ports, NodePorts: nodePorts}, {GroupID: "workers", NodePorts: true}}
		planned, errs := Plan(pol, configured(sources...), targets)
		if pol.Mode == Disabled {
			if len(planned) != 0 || len(errs) != 0 {
				t.Fatal("Disabled planned something")
			}
			return
		}
		want := np
		if want == (PortRange{}) {
			want = DefaultNodePorts
		}
		for _, r := range planned {
			if r.Direction != "ingress" || r.Protocol != "tcp" || r.RemoteGroupID != "" {
				t.Fatalf("planned %v", r)
			}
			src, err := netip.ParsePrefix(r.RemoteIPPrefix)
			if err != nil || (src != sources[0].Masked() && src != sources[1].Masked()) || r.EtherType != etherType(src) {
				t.Fatalf("planned %v from a source not given (%v)", r, sources)
			}
			if pol.Refuse(Source{Prefix: src}) != nil {
				t.Fatalf("planned %v: wider than the policy allows", r)
			}
			if r.PortRangeMin < 1 || r.PortRangeMax > 65535 || r.PortRangeMin > r.PortRangeMax {
				t.Fatalf("planned an invalid range %v", r)
			}
			if !allTCP {
				for port := r.PortRangeMin; port <= r.PortRangeMax; port++ {
					asked := (r.SecurityGroupID == "cp" && slices.Contains(ports, port)) ||
						((r.SecurityGroupID == "workers" || nodePorts) && port >= want.Min && port <= want.Max)
					if !asked {
						t.Fatalf("planned %v opens port %d, which nobody asked for", r, port)
					}
				}
			}
		}
		if m := Missing(planned, planned); len(m) != 0 {
			t.Fatalf("a plan does not cover itself: %v", m)
		}
		if m := Missing(planned, nil); len(m) != len(planned) {
			t.Fatalf("Missing(plan, nothing) = %d rules of %d", len(m), len(planned))
		}
		for _, src := range sources {
			if err := pol.Refuse(Source{Prefix: src}); err != nil {
				if !slices.ContainsFunc(errs, func(e error) bool { return e.Error() == err.Error() }) {
					t.Fatalf("refused %s without saying so: %v", src, errs)
				}
				continue
			}
			for _, tg := range targets {
				group := inGroup(planned, tg.GroupID)
				for _, port := range tg.Ports {
					if port >= 1 && port <= 65535 && !Check(group, src, port).Admitted {
						t.Fatalf("the plan does not admit TCP %d from %s to %s", port, src, tg.GroupID)
					}
				}
				if tg.NodePorts && !Check(group, src, want.Max).Admitted {
					t.Fatalf("the plan does not admit the NodePort range from %s to %s", src, tg.GroupID)
				}
			}
		}
	})
}
