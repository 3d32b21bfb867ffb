package memberwait_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/monitors"

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
	h := octaviatest.HealthCheck{Monitor: octaviatest.MonitorSpec{Delay: 30, Timeout: 10, MaxRetriesDown: 3}, Phase: 8 * time.Second}
	b.octa.ScriptMembers(octaviatest.MemberMatch{Name: name}, h.Script(2*time.Second))
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

func TestAutoSettleWindowFollowsTheMonitor(t *testing.T) {
	hm := func(delay, timeout, down int) memberwait.HealthMonitor {
		return memberwait.HealthMonitor{Delay: time.Duration(delay) * time.Second, Timeout: time.Duration(timeout) * time.Second, MaxRetriesDown: down}
	}
	for _, c := range []struct {
		name      string
		hm        memberwait.HealthMonitor
		provider  string
		heartbeat time.Duration
		want      time.Duration
	}{
		{"fast amphora", hm(5, 3, 2), "amphora", 0, 5*2*time.Second + 3*time.Second + 10*time.Second + memberwait.AutoSettleMargin},
		{"CAPO's amphora", hm(10, 5, 3), "", 0, 45*time.Second + memberwait.AutoSettleMargin},
		{"slow amphora", hm(30, 10, 3), "amphora", 0, 110*time.Second + memberwait.AutoSettleMargin},
		{"slow amphora, 5 s heartbeat", hm(30, 10, 3), "amphora", 5 * time.Second, 105*time.Second + memberwait.AutoSettleMargin},
		{"CAPO's monitor on OVN: no heartbeat, a probe may wait out its timeout before the next", hm(10, 5, 3), "ovn", 0, 45*time.Second + memberwait.AutoSettleMargin},
		{"slow OVN", hm(30, 10, 3), "OVN", 0, 120*time.Second + memberwait.AutoSettleMargin},
		{"max_retries_down unread takes Octavia's default", hm(10, 5, 0), "amphora", 0, 45*time.Second + memberwait.AutoSettleMargin},
	} {
		if got := memberwait.AutoSettleWindow(c.hm, c.provider, c.heartbeat); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

func TestParseSettleMode(t *testing.T) {
	for s, want := range map[string]memberwait.SettleMode{"auto": memberwait.SettleAuto, "Fixed": memberwait.SettleFixed} {
		if got, err := memberwait.ParseSettleMode(s); err != nil || got != want {
			t.Errorf("%q: %v, %v", s, got, err)
		}
	}
	if _, err := memberwait.ParseSettleMode("45s"); err == nil {
		t.Error("45s parsed as a mode")
	}
}

// settling judges a member that has read ACTIVE/ONLINE since t0 in a pool
// with the given monitor, at t0+held.
func settling(opts memberwait.Options, hm *memberwait.HealthMonitor, provider string, held time.Duration) memberwait.Verdict {
	t0 := start
	snap := func() *memberwait.Snapshot {
		return &memberwait.Snapshot{LoadBalancerID: "lb", Found: true, ProvisioningStatus: memberwait.StatusActive, Provider: provider,
			Pools: []memberwait.PoolStatus{{ID: "pool", Monitor: memberwait.MonitorPresent, HealthMonitor: hm,
				Members: []memberwait.MemberStatus{{ID: "m", ProvisioningStatus: memberwait.StatusActive, OperatingStatus: memberwait.StatusOnline}}}}}
	}
	sel := memberwait.Selector{ID: "m"}
	v := memberwait.Evaluate(memberwait.Observation{Snapshot: snap(), At: t0}, sel, opts, memberwait.Progress{})
	for at := 5 * time.Second; at < held; at += 5 * time.Second {
		v = memberwait.Evaluate(memberwait.Observation{Snapshot: snap(), At: t0.Add(at)}, sel, opts, v.Progress)
	}
	return memberwait.Evaluate(memberwait.Observation{Snapshot: snap(), At: t0.Add(held)}, sel, opts, v.Progress)
}

func TestSettleWindowPerPool(t *testing.T) {
	slow := &memberwait.HealthMonitor{ID: "hm", Delay: 30 * time.Second, Timeout: 10 * time.Second, MaxRetriesDown: 3}
	auto := memberwait.AutoSettleWindow(*slow, "amphora", 0)
	for _, c := range []struct {
		name     string
		opts     memberwait.Options
		hm       *memberwait.HealthMonitor
		held     time.Duration
		outcome  memberwait.Outcome
		window   time.Duration
		provider string
	}{
		{name: "auto, not yet", hm: slow, held: auto - time.Second, outcome: memberwait.Pending},
		{name: "auto, held", hm: slow, held: auto, outcome: memberwait.Done},
		{name: "fixed", opts: memberwait.Options{Settle: memberwait.SettleFixed}, hm: slow, held: memberwait.DefaultSettleWindow, outcome: memberwait.Done},
		{name: "an explicit window wins", opts: memberwait.Options{SettleWindow: 20 * time.Second}, hm: slow, held: 20 * time.Second, outcome: memberwait.Done},
		{name: "none", opts: memberwait.Options{SettleWindow: -1}, hm: slow, held: 0, outcome: memberwait.Done},
		{name: "monitor unknown: the fixed default", held: memberwait.DefaultSettleWindow - time.Second, outcome: memberwait.Pending},
		{name: "monitor unknown, held the default", held: memberwait.DefaultSettleWindow, outcome: memberwait.Done},
		{name: "a 5 s heartbeat", opts: memberwait.Options{Heartbeat: 5 * time.Second}, hm: slow, held: auto - 5*time.Second, outcome: memberwait.Done},
	} {
		if v := settling(c.opts, c.hm, c.provider, c.held); v.Outcome != c.outcome {
			t.Errorf("%s: %s (%s), want %s", c.name, v.Outcome, v.Reason, c.outcome)
		}
	}
}

func TestSettleAutoReadsEachMonitorOnce(t *testing.T) {
	b := slowBed(t)
	src := memberwait.StatusTree(b.client)
	sel := []memberwait.Selector{{PoolID: b.pool, Name: "old-0"}}
	var prog []memberwait.Progress
	check := func() memberwait.Verdict {
		vs := memberwait.Check(context.Background(), src, b.lb, sel, memberwait.Options{Clock: b.clk}, prog)
		prog = []memberwait.Progress{vs[0].Progress}
		b.clk.Advance(10 * time.Second)
		return vs[0]
	}
	for i := 0; i < 10; i++ {
		check()
	}
	gets := func() (monitor, lb, tree int) {
		return b.octa.RequestCount(octaviatest.OpGetHealthMonitor), b.octa.RequestCount(octaviatest.OpGetLoadBalancer),
			b.octa.RequestCount(octaviatest.OpGetLoadBalancerStatus)
	}
	if m, lb, tree := gets(); m != 1 || lb != 1 || tree != 10 {
		t.Fatalf("10 checks: %d monitor GETs, %d load balancer GETs, %d status trees; want 1, 1, 10", m, lb, tree)
	}

	// A PUT puts the monitor PENDING_UPDATE: it is read at every check
	// while it is, and once more when it is ACTIVE again.
	if _, err := monitors.Update(context.Background(), b.client, b.seeded.MonitorIDs[0],
		monitors.UpdateOpts{Delay: 5, Timeout: 3, MaxRetriesDown: 2}).Extract(); err != nil {
		t.Fatal(err)
	}
	memberwait.Check(context.Background(), src, b.lb, sel, memberwait.Options{Clock: b.clk}, prog)
	if m, _, _ := gets(); m != 2 {
		t.Fatalf("after the PUT: %d monitor GETs, want 2", m)
	}
	b.clk.Advance(time.Minute)
	var v memberwait.Verdict
	for i := 0; i < 3; i++ {
		v = check()
	}
	if m, lb, _ := gets(); m != 3 || lb != 1 {
		t.Fatalf("after the update: %d monitor GETs, %d load balancer GETs; want 3, 1", m, lb)
	}
	// The new monitor's window is in force: 5×2+3+10+5 = 28 s, long
	// since held.
	if v.Outcome != memberwait.Done {
		t.Fatalf("under the fast monitor: %s (%s)", v.Outcome, v.Reason)
	}

	// Past the cache's lifetime, the monitor is read again.
	b.clk.Advance(memberwait.DefaultMonitorCacheTTL)
	check()
	if m, _, _ := gets(); m != 4 {
		t.Fatalf("after the TTL: %d monitor GETs, want 4", m)
	}
}

func TestSettleFixedReadsNoMonitor(t *testing.T) {
	b := slowBed(t)
	sel := []memberwait.Selector{{PoolID: b.pool, Name: "old-0"}}
	for _, opts := range []memberwait.Options{{Settle: memberwait.SettleFixed}, {SettleWindow: time.Minute}, {Target: memberwait.Provisioned}} {
		opts.Clock = b.clk
		memberwait.Check(context.Background(), memberwait.StatusTree(b.client), b.lb, sel, opts, nil)
	}
	if n := b.octa.RequestCount(octaviatest.OpGetHealthMonitor) + b.octa.RequestCount(octaviatest.OpGetLoadBalancer); n != 0 {
		t.Fatalf("%d monitor or load balancer GETs for waits that do not need the monitor", n)
	}
}

func TestSettleAutoThroughPoolLists(t *testing.T) {
	b := slowBed(t)
	src := memberwait.PoolMembers(b.client)
	sel := []memberwait.Selector{{PoolID: b.pool, Name: "old-0"}}
	var v memberwait.Verdict
	for i := 0; i < 13; i++ {
		v = memberwait.Check(context.Background(), src, b.lb, sel, memberwait.Options{Clock: b.clk}, []memberwait.Progress{v.Progress})[0]
		b.clk.Advance(10 * time.Second)
	}
	if n := b.octa.RequestCount(octaviatest.OpListHealthMonitors); n != 1 {
		t.Fatalf("%d monitor lists in 13 checks, want 1", n)
	}
	// Held 120 s at the last check: past the slow monitor's 115 s.
	if v.Outcome != memberwait.Done {
		t.Fatalf("%s (%s)", v.Outcome, v.Reason)
	}
	v = memberwait.Check(context.Background(), src, b.lb, sel, memberwait.Options{Clock: b.clk}, []memberwait.Progress{{}})[0]
	if v.Outcome != memberwait.Pending || !strings.Contains(v.Reason, "1m55s") {
		t.Fatalf("a fresh check: %s (%s); want pending on the 1m55s window", v.Outcome, v.Reason)
	}
}

// capoMonitorClient is CAPO's client with its ListMonitors.
type capoMonitorClient struct{ capoClient }

func (c capoMonitorClient) ListMonitors(opts monitors.ListOptsBuilder) ([]monitors.Monitor, error) {
	pages, err := monitors.List(c.sc, opts).AllPages(context.TODO())
	if err != nil {
		return nil, err
	}
	return monitors.ExtractMonitors(pages)
}

// FromLbClient makes upstream CAPO's requests only (Auto falls back to
// the default window); FromLbClientWithMonitors lists the monitor once and
// follows it.
func TestSettleAutoThroughACAPOClient(t *testing.T) {
	b := slowBed(t)
	sel := []memberwait.Selector{{PoolID: b.pool, Name: "old-0"}}
	check := func(src memberwait.Source) memberwait.Verdict {
		return memberwait.Check(context.Background(), src, b.lb, sel, memberwait.Options{Clock: b.clk}, []memberwait.Progress{{}})[0]
	}
	if v := check(memberwait.FromLbClient(capoClient{b.client})); !strings.Contains(v.Reason, "45s") {
		t.Fatalf("FromLbClient: %s (%s); want the 45s default window", v.Outcome, v.Reason)
	}
	if n := b.octa.RequestCount(octaviatest.OpListHealthMonitors); n != 0 {
		t.Fatalf("FromLbClient listed monitors %d times; upstream CAPO lists none", n)
	}
	if v := check(memberwait.FromLbClientWithMonitors(capoMonitorClient{capoClient{b.client}})); !strings.Contains(v.Reason, "1m55s") {
		t.Fatalf("FromLbClientWithMonitors: %s (%s); want the monitor's 1m55s window", v.Outcome, v.Reason)
	}
	if n := b.octa.RequestCount(octaviatest.OpListHealthMonitors); n != 1 {
		t.Fatalf("%d monitor lists, want 1", n)
	}
}
