package memberwait_test

import (
	"context"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"

	"github.com/membergate/membergate/pkg/memberwait"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
)

// TestWaitRecreatedMemberSettlesAfresh: a wait by address whose member is
// deleted and created again at the same address, inside the settle window,
// follows the new member and gives it a settle window of its own — HAProxy
// adds the new server UP before its first check, so its ONLINE at once
// proves nothing.
func TestWaitRecreatedMemberSettlesAfresh(t *testing.T) {
	b := newBed(t, true)
	old := b.seeded.MemberIDs[0][0] // old-0 at 10.0.0.10:6443, ONLINE
	b.octa.ScriptMembers(octaviatest.MemberMatch{Name: "again"}, octaviatest.MemberScript{
		Provisioning: []octaviatest.Step{{After: 0, Status: memberwait.StatusActive}},
		Operating:    []octaviatest.Step{{After: 0, Status: memberwait.StatusOnline}},
	})
	// The delete and the re-create are made from the waiting goroutine, on
	// what its polls saw, so that no second goroutine races the virtual
	// clock: the first after 20 s of ONLINE, the second once the waiter has
	// seen the member missing.
	var deleted bool
	var newID string
	var recreatedAt time.Duration
	onUpdate := func(u memberwait.Update) {
		switch {
		case !deleted && u.Verdict.At.Sub(start) >= 20*time.Second:
			if err := pools.DeleteMember(context.Background(), b.client, b.pool, old).ExtractErr(); err != nil {
				t.Errorf("delete: %v", err)
			}
			deleted = true
		case deleted && newID == "" && u.Verdict.Member == nil:
			newID, recreatedAt = b.addMember("again", "10.0.0.10"), b.at()
		}
	}
	var res memberwait.Result
	var err error
	b.wait(func() {
		res, err = memberwait.Wait(context.Background(), memberwait.StatusTree(b.client), b.lb,
			memberwait.Selector{PoolID: b.pool, Address: "10.0.0.10", ProtocolPort: 6443},
			memberwait.Options{Clock: b.clk, Rand: func() float64 { return 0.5 }, OnUpdate: onUpdate})
	})
	if err != nil {
		t.Fatalf("wait: %v (at %s; re-created at %s)", err, b.at(), recreatedAt)
	}
	if newID == "" || res.Verdict.Member == nil || res.Verdict.Member.ID != newID {
		t.Fatalf("done on %+v, want the new member %q", res.Verdict.Member, newID)
	}
	if got := b.at(); got < recreatedAt+memberwait.DefaultSettleWindow {
		t.Fatalf("returned at %s: the new member had not been ONLINE for a settle window since %s", got, recreatedAt)
	}
}
