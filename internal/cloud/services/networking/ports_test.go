package networking

import (
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
)

// Octavia keeps a member's address as submitted, Neutron a port's fixed IP
// canonical: the port is found whatever the member's spelling.
func TestPickFindsThePortOfAnyAddressSpelling(t *testing.T) {
	p := Port{}
	p.ID = "port-1"
	p.FixedIPs = []ports.IP{{SubnetID: "s", IPAddress: "fd00::a"}}
	if got := pick([]Port{p}, "fd00:0:0::0a", "s"); got == nil || got.ID != "port-1" {
		t.Fatalf("pick = %+v, want port-1", got)
	}
	if !p.Holds("fd00::0a") {
		t.Fatal("Holds missed fd00::0a")
	}
}
