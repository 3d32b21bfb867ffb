package secgroup

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Rule is a Neutron security-group rule, as the API returns it.
type Rule struct {
	ID              string
	SecurityGroupID string
	// Direction is "ingress" or "egress".
	Direction string
	// EtherType is "IPv4" or "IPv6".
	EtherType string
	// Protocol is empty (any), "any", a name ("tcp") or an IP protocol
	// number ("6").
	Protocol string
	// PortRangeMin and PortRangeMax are 0 when unset: all ports.
	PortRangeMin, PortRangeMax int
	// RemoteIPPrefix and RemoteGroupID name the allowed sources; with
	// neither, any source of the ether type.
	RemoteIPPrefix string
	RemoteGroupID  string
	Description    string
}

// Clone returns a copy of the rule.
func (r Rule) Clone() *Rule { return &r }

// String renders the rule as a person reads it.
func (r Rule) String() string {
	proto := r.Protocol
	if proto == "" {
		proto = "any"
	}
	ports := "all ports"
	if r.PortRangeMin != 0 || r.PortRangeMax != 0 {
		lo, hi := r.ports()
		ports = "port " + strconv.Itoa(lo)
		if hi != lo {
			ports = fmt.Sprintf("ports %d-%d", lo, hi)
		}
	}
	from := "anywhere (" + r.EtherType + ")"
	switch {
	case r.RemoteIPPrefix != "":
		from = r.RemoteIPPrefix
	case r.RemoteGroupID != "":
		from = "members of group " + r.RemoteGroupID
	}
	return fmt.Sprintf("%s %s %s from %s", r.Direction, proto, ports, from)
}

// ports returns the rule's range; a minimum without a maximum is one port.
func (r Rule) ports() (lo, hi int) {
	lo, hi = r.PortRangeMin, r.PortRangeMax
	if hi == 0 {
		hi = lo
	}
	if lo == 0 {
		lo = 1
	}
	return lo, hi
}

// coversTCP reports whether the rule's protocol includes TCP.
func (r Rule) coversTCP() bool {
	switch strings.ToLower(strings.TrimSpace(r.Protocol)) {
	case "", "any", "tcp", "6":
		return true
	}
	return false
}

// allPorts reports whether the rule leaves ports open: an unset range, or a
// protocol without ports (any).
func (r Rule) allPorts() bool {
	if r.PortRangeMin == 0 && r.PortRangeMax == 0 {
		return true
	}
	switch strings.ToLower(strings.TrimSpace(r.Protocol)) {
	case "", "any":
		// Neutron ignores port ranges when the protocol is any.
		return true
	}
	return false
}

// Admits reports whether this rule lets TCP to port reach the guarded port
// from every address of src. A rule that admits only part of src does not:
// health checks come from any address of the load balancer's subnet.
// Remote-group rules never admit a CIDR: the amphora's port is in the
// service project's group, which a tenant's rule cannot name.
func (r Rule) Admits(src netip.Prefix, port int) bool {
	if !strings.EqualFold(r.Direction, "ingress") || !r.coversTCP() {
		return false
	}
	if etherType(src) != r.EtherType {
		return false
	}
	if !r.allPorts() {
		lo, hi := r.ports()
		if port < lo || port > hi {
			return false
		}
	}
	switch {
	case r.RemoteGroupID != "":
		return false
	case r.RemoteIPPrefix == "":
		return true
	}
	prefix, err := netip.ParsePrefix(r.RemoteIPPrefix)
	if err != nil {
		// Neutron also stores a bare address as a remote prefix.
		addr, aerr := netip.ParseAddr(r.RemoteIPPrefix)
		if aerr != nil {
			return false
		}
		prefix = netip.PrefixFrom(addr, addr.BitLen())
	}
	return contains(prefix.Masked(), src.Masked())
}

// contains reports whether outer holds every address of inner.
func contains(outer, inner netip.Prefix) bool {
	return outer.Addr().Is4() == inner.Addr().Is4() && outer.Bits() <= inner.Bits() && outer.Contains(inner.Addr())
}

func etherType(p netip.Prefix) string {
	if p.Addr().Is4() {
		return "IPv4"
	}
	return "IPv6"
}

// Admission answers "do these groups admit TCP to port from src?".
type Admission struct {
	Admitted bool
	// By is the first rule that admits it.
	By *Rule
	// Missing is the rule that would admit it, when none does.
	Missing *Rule
}

// Check reads the ingress rules of the groups guarding a port: whether
// they admit TCP to it from src, and by which rule, or which rule would.
func Check(rules []Rule, src netip.Prefix, port int) Admission {
	for i := range rules {
		if rules[i].Admits(src, port) {
			return Admission{Admitted: true, By: &rules[i]}
		}
	}
	want := Rule{Direction: "ingress", EtherType: etherType(src), Protocol: "tcp", PortRangeMin: port, PortRangeMax: port,
		RemoteIPPrefix: src.Masked().String()}
	return Admission{Missing: &want}
}
