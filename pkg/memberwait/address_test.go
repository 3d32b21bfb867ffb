package memberwait

import "testing"

func TestSameAddress(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"10.0.0.5", "10.0.0.5", true},
		{"10.0.0.5", "10.0.0.6", false},
		{"fd00::0a", "fd00::a", true},
		{"fd00:0:0:0:0:0:0:a", "fd00::a", true},
		{"FD00::A", "fd00::a", true},
		{"fd00::a", "fd00::b", false},
		// Octavia may hand back an IPv4 address in its IPv4-mapped IPv6
		// form; it is the same address.
		{"::ffff:10.0.0.5", "10.0.0.5", true},
		{"::ffff:a00:5", "10.0.0.5", true},
		{"::ffff:10.0.0.5", "10.0.0.6", false},
		// Zones are part of the address.
		{"fe80::1%eth0", "fe80::01%eth0", true},
		{"fe80::1%eth0", "fe80::1%eth1", false},
		// Not addresses: plain string comparison, never a match with an
		// address that merely parses the same.
		{"node-1", "node-1", true},
		{"node-1", "Node-1", false},
		{"fd00::0a", "fd00::a ", false},
		{"", "", true},
		{"", "10.0.0.5", false},
	} {
		if got := SameAddress(c.a, c.b); got != c.want {
			t.Errorf("SameAddress(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
		if got := SameAddress(c.b, c.a); got != c.want {
			t.Errorf("SameAddress(%q, %q) = %v, want %v", c.b, c.a, got, c.want)
		}
	}
}

// TestEvaluateAddressSpelling: an address selector finds the member whatever
// spelling Octavia stored, in either direction.
func TestEvaluateAddressSpelling(t *testing.T) {
	for _, c := range []struct{ stored, asked string }{
		{"fd00::0a", "fd00::a"},
		{"fd00::a", "fd00::0a"},
		{"fd00:0000::a", "FD00::A"},
		{"::ffff:10.0.0.5", "10.0.0.5"},
	} {
		ms := mem(StatusActive, StatusOnline)
		ms.Address = c.stored
		obs := Observation{Snapshot: snap(StatusActive, MonitorPresent, ms), At: t0}
		v := Evaluate(obs, Selector{Address: c.asked, ProtocolPort: 6443}, opts(Provisioned, nil), Progress{})
		if v.Outcome != Done || v.Progress.MemberID != "m1" {
			t.Errorf("stored %q, asked %q: %v %q (member %q), want Done on m1", c.stored, c.asked, v.Outcome, v.Reason, v.Progress.MemberID)
		}
	}
}

func TestCanonicalAddress(t *testing.T) {
	for in, want := range map[string]string{
		"fd00:0:0::0a": "fd00::a", "FD00::A": "fd00::a", "::ffff:10.0.0.1": "10.0.0.1", "10.0.0.1": "10.0.0.1", "node-1": "node-1",
	} {
		if got := CanonicalAddress(in); got != want {
			t.Errorf("CanonicalAddress(%q) = %q, want %q", in, got, want)
		}
	}
}
