package conformance

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	"github.com/membergate/membergate/pkg/memberwait"
)

// TestIPv6MemberSpelling: Octavia validates a member's address as IPv4 or
// IPv6 and stores the string it was given ("fd00::0a" stays "fd00::0a").
// memberwait must find a member whatever spelling it was created in and
// whatever spelling the caller asks for, and the emulator must store what it
// was given, as Octavia does, or the emulator half would hide the bug.
//
// The testbed's load balancers have an IPv4 VIP on the noop network
// driver's fake subnet. The amphora provider refuses IPv4/IPv6 mixing only
// for UDP and SCTP pools; this pool is TCP and the members name no subnet,
// so nothing checks the member's IP version against a subnet. Should an
// Octavia refuse the IPv6 member all the same, the real half is skipped
// with Octavia's answer: nothing of the spelling can be checked then.
func TestIPv6MemberSpelling(t *testing.T) {
	waitBackends(t, func(t *testing.T, b *backend) {
		lbID, poolID := buildTree(t, b, false)
		create := func(name, addr string) (*pools.Member, error) {
			return pools.CreateMember(ctx, b.client, poolID, pools.CreateMemberOpts{Name: name, Address: addr, ProtocolPort: 6443}).Extract()
		}
		first, err := create("v6-a", "fd00::0a")
		if err != nil {
			if b.real() && gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
				t.Skipf("%s refused an IPv6 member on a TCP pool of a load balancer with an IPv4 VIP, so no member "+
					"address spelling can be checked against it: %v", b.name, err)
			}
			t.Fatalf("%s: creating a member at fd00::0a: %v", b.name, err)
		}
		waitActive(t, b, lbID, "member v6-a")
		waitActive(t, b, lbID, "lb")
		second := addMember(t, b, lbID, poolID, "v6-b", "fd00:0:0::b")

		// What is stored is what was submitted, in every answer.
		for id, want := range map[string]string{first.ID: "fd00::0a", second: "fd00:0:0::b"} {
			m, err := pools.GetMember(ctx, b.client, poolID, id).Extract()
			if err != nil {
				t.Fatal(err)
			}
			if m.Address != want {
				t.Errorf("%s: GET member = %q, want the submitted %q", b.name, m.Address, want)
			}
		}
		snap, err := memberwait.StatusTree(b.client).Observe(ctx, memberwait.Request{LoadBalancerID: lbID})
		if err != nil {
			t.Fatal(err)
		}
		stored := map[string]string{}
		for _, p := range snap.Pools {
			for _, m := range p.Members {
				stored[m.ID] = m.Address
			}
		}
		if stored[first.ID] != "fd00::0a" || stored[second] != "fd00:0:0::b" {
			t.Errorf("%s: the status tree shows %v, want the submitted spellings", b.name, stored)
		}

		// A wait finds each member by another spelling of its address.
		for _, c := range []struct{ id, asked string }{{first.ID, "fd00::a"}, {second, "FD00::0B"}} {
			w := startWait(b, lbID, memberwait.Selector{PoolID: poolID, Address: c.asked, ProtocolPort: 6443}, quick(memberwait.Provisioned))
			res, err := w.result(t, 30*time.Second)
			if err != nil {
				t.Fatalf("%s: waiting on %s: %v", b.name, c.asked, err)
			}
			if res.Verdict.Member == nil || res.Verdict.Member.ID != c.id {
				t.Errorf("%s: the wait on %s ended on %+v, want member %s", b.name, c.asked, res.Verdict.Member, c.id)
			}
		}

		// Octavia's uniqueness of (pool, address, port) is on the stored
		// string, so the same address spelled another way is a second
		// member; an address selector then matches both.
		dup, err := create("v6-a-again", "fd00::a")
		if err != nil {
			t.Fatalf("%s: a second member at fd00::a beside fd00::0a: %v; want it accepted (Octavia compares the strings)", b.name, err)
		}
		waitActive(t, b, lbID, "member v6-a-again")
		waitActive(t, b, lbID, "lb")
		w := startWait(b, lbID, memberwait.Selector{PoolID: poolID, Address: "fd00::a", ProtocolPort: 6443}, quick(memberwait.Provisioned))
		_, err = w.result(t, 30*time.Second)
		var ae *memberwait.AmbiguousError
		if !errors.As(err, &ae) || len(ae.Matches) != 2 {
			t.Fatalf("%s: wait on fd00::a with members %s and %s at fd00::0a and fd00::a: %v, want an AmbiguousError naming both",
				b.name, first.ID, dup.ID, err)
		}
	})
}
