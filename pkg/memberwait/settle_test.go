package memberwait_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/membergate/membergate/pkg/memberwait"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
	"github.com/membergate/membergate/pkg/memberwait/vclock"
)

// slowBed is a bed whose pool has a slow monitor: delay 30 s, timeout 10 s,
// max_retries_down 3. A member that does not serve reads ONLINE until
// HAProxy's third failed check, up to 30×3+10 = 100 s after it was added,
// and ERROR from the amphora's next heartbeat.
func slowBed(t *testing.T) *bed {
	t.Helper()
	clk := vclock.New(start)
	octa := octaviatest.NewServer(octaviatest.Options{Clock: clk, Seed: 1})
	t.Cleanup(octa.Close)
	pool := &octaviatest.PoolSpec{Name: "kubeapi", Monitor: &octaviatest.MonitorSpec{Type: "TCP", Delay: 30, Timeout: 10, MaxRetries: 5, MaxRetriesDown: 3},
		Members: []octaviatest.MemberSpec{{Name: "old-0", Address: "10.0.0.10", ProtocolPort: 6443, OperatingStatus: memberwait.StatusOnline}}}
	seeded := octa.Seed(octaviatest.LoadBalancerSpec{Name: "kubeapi", Listeners: []octaviatest.ListenerSpec{{Port: 6443, Pool: pool}}})
	return &bed{t: t, clk: clk, octa: octa, client: octa.ServiceClient(), seeded: seeded, lb: seeded.LoadBalancerID, pool: seeded.PoolIDs[0]}
}

// deadMember scripts a member that never answers its checks under the slow
// monitor: ACTIVE at 2 s (HAProxy adds it UP), ONLINE at the heartbeat at
// 8 s, DOWN by 2+100 s, ERROR at the heartbeat at 108 s.
func deadMember(b *bed, name string) {
	b.octa.ScriptMembers(octaviatest.MemberMatch{Name: name}, octaviatest.MemberScript{
		Provisioning: []octaviatest.Step{{After: 0, Status: memberwait.StatusPendingCreate}, {After: 2 * time.Second, Status: memberwait.StatusActive}},
		Operating: []octaviatest.Step{{After: 0, Status: memberwait.StatusOffline}, {After: 8 * time.Second, Status: memberwait.StatusOnline},
			{After: 108 * time.Second, Status: memberwait.StatusError}},
	})
}

func TestSettleDefaultWaitsOutASlowMonitor(t *testing.T) {
	b := slowBed(t)
	deadMember(b, "new-0")
	id := b.addMember("new-0", "10.0.0.12")
	var err error
	b.wait(func() {
		_, err = memberwait.Wait(context.Background(), memberwait.StatusTree(b.client), b.lb,
			memberwait.Selector{PoolID: b.pool, ID: id}, memberwait.Options{Clock: b.clk, Timeout: 3 * time.Minute})
	})
	var te *memberwait.TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("the default wait ended at %s with %v; the member never served, so it must time out (its ERROR is reported at 108 s)", b.at(), err)
	}
}

func TestSettleFixed45sReleasesEarlyUnderASlowMonitor(t *testing.T) {
	// The hazard the default avoids, kept visible: a fixed 45 s window
	// declares the dead member serving before its ERROR is reported.
	b := slowBed(t)
	deadMember(b, "new-0")
	id := b.addMember("new-0", "10.0.0.12")
	var err error
	b.wait(func() {
		_, err = memberwait.Wait(context.Background(), memberwait.StatusTree(b.client), b.lb,
			memberwait.Selector{PoolID: b.pool, ID: id}, memberwait.Options{Clock: b.clk, Timeout: 3 * time.Minute, SettleWindow: 45 * time.Second})
	})
	if err != nil || b.at() >= 108*time.Second {
		t.Fatalf("fixed 45 s: ended at %s with %v; want a (wrong) success before the ERROR at 108 s", b.at(), err)
	}
}
