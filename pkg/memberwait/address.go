package memberwait

import "net/netip"

// SameAddress reports whether a and b name the same IP address. Octavia
// stores a member's address as it was submitted, so "fd00::0a" and "fd00::a"
// (or an IPv4 address and its IPv4-mapped IPv6 form) are the same member
// spelled two ways; comparing them as strings would miss it. A string that is
// not an IP address is compared as a plain string.
func SameAddress(a, b string) bool {
	if a == b {
		return true
	}
	x, errA := netip.ParseAddr(a)
	y, errB := netip.ParseAddr(b)
	if errA != nil || errB != nil {
		return false
	}
	return x.Unmap() == y.Unmap()
}

// CanonicalAddress returns an IP address in its canonical form (RFC 5952 for
// IPv6, IPv4-mapped addresses unmapped), the form Neutron keeps fixed IPs in;
// a string that is not an IP address is returned as it is.
func CanonicalAddress(s string) string {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return s
	}
	return a.Unmap().String()
}
