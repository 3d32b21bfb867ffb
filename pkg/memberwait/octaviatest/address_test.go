package octaviatest

import (
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
)

// TestMemberAddressKeepsItsSpelling: Octavia validates a member's address as
// IPv4 or IPv6 and stores the string it was given, so clients see
// "fd00::0a" back, not "fd00::a". The emulator must do the same, or tests
// against it would miss every bug that comparing addresses as strings causes.
func TestMemberAddressKeepsItsSpelling(t *testing.T) {
	e := newEnv(t, Options{})
	lbID, _, poolID := e.activeListenerPool()
	for _, addr := range []string{"fd00::0a", "FD00:0:0::B", "::ffff:10.0.0.5"} {
		m := e.createMember(poolID, "m-"+addr, addr)
		if m.Address != addr {
			t.Errorf("create %q: response says %q", addr, m.Address)
		}
		e.step(DefaultDelays().Member)
		got, err := pools.GetMember(e.ctx, e.c, poolID, m.ID).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if got.Address != addr {
			t.Errorf("create %q: GET says %q", addr, got.Address)
		}
		if inspected, _ := e.srv.Member(m.ID); inspected.Address != addr {
			t.Errorf("create %q: Member() says %q", addr, inspected.Address)
		}
	}
	_, body, _ := e.raw("GET", "/v2/lbaas/loadbalancers/"+lbID+"/status", "")
	for _, addr := range []string{`"fd00::0a"`, `"FD00:0:0::B"`, `"::ffff:10.0.0.5"`} {
		if !strings.Contains(string(body), `"address": `+addr) && !strings.Contains(string(body), `"address":`+addr) {
			t.Errorf("status tree has no member at %s:\n%s", addr, body)
		}
	}
}
