package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"

	"github.com/membergate/membergate/pkg/memberwait"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
	"github.com/membergate/membergate/pkg/memberwait/vclock"
)

// settleMonitors are the monitors of the settle table: fast, CAPO's default
// and slow.
var settleMonitors = []struct {
	name string
	spec octaviatest.MonitorSpec
}{
	{"fast 5/3/2", octaviatest.MonitorSpec{Delay: 5, Timeout: 3, MaxRetriesDown: 2}},
	{"default 10/5/3", octaviatest.MonitorSpec{Delay: 10, Timeout: 5, MaxRetriesDown: 3}},
	{"slow 30/10/3", octaviatest.MonitorSpec{Delay: 30, Timeout: 10, MaxRetriesDown: 3}},
}

// settleActive is when the emulated member turns ACTIVE (HAProxy adds it
// UP): its true readiness, for a member that serves.
const settleActive = 2 * time.Second

// settleSection measures, for a member that serves, how long after its true
// readiness memberwait declares it serving with a fixed 45 s window and
// with Auto, against the physical limit: the first heartbeat after
// delay×max_retries_down+timeout, the first moment Octavia's API can tell
// a member that serves from one that does not. Each cell is the mean over
// the ten heartbeat phases.
func settleSection() Section {
	t := Table{Header: []string{"monitor delay/timeout/down", "physical limit", "fixed 45 s: lag", "fixed 45 s: before the limit", "Auto: window", "Auto: lag", "Auto: before the limit"}}
	for _, m := range settleMonitors {
		var limit, fixed, auto time.Duration
		fixedEarly, autoEarly := 0, 0
		for phase := range 10 {
			h := octaviatest.HealthCheck{Monitor: m.spec, Phase: time.Duration(phase) * time.Second, Serves: true}
			// The heartbeat after the moment HAProxy would mark it DOWN: the
			// ONLINE step of a script that turned ACTIVE then.
			l := h.Script(settleActive + h.TimeToDown()).Operating[1].After - settleActive
			limit += l
			f := settleLag(h, memberwait.Options{SettleWindow: 45 * time.Second})
			a := settleLag(h, memberwait.Options{})
			fixed, auto = fixed+f, auto+a
			fixedEarly += b2i(f < l)
			autoEarly += b2i(a < l)
		}
		hm := memberwait.HealthMonitor{Delay: time.Duration(m.spec.Delay) * time.Second, Timeout: time.Duration(m.spec.Timeout) * time.Second, MaxRetriesDown: m.spec.MaxRetriesDown}
		t.Add(m.name, secs1(limit/10), secs1(fixed/10), fmt.Sprintf("%d of 10", fixedEarly),
			memberwait.AutoSettleWindow(hm, "amphora", 0).String(), secs1(auto/10), fmt.Sprintf("%d of 10", autoEarly))
	}
	return Section{ID: "S9", Title: "Settle window: fixed 45 s against Auto, by health monitor",
		Story: "A member that serves, ACTIVE 2 s after its create, under three monitors, with the amphora's heartbeat at each of ten phases. " +
			"Lag is from its true readiness (ACTIVE, HAProxy has it UP) to memberwait's Done. The physical limit is the first moment " +
			"Octavia's API can tell it from a member that does not serve: the first heartbeat after delay×max_retries_down+timeout. " +
			"Declaring a member serving before the limit means a member that does not serve would have been declared serving too.",
		Table: t}
}

// settleLag runs one wait on an emulated cloud and returns how long after
// settleActive it declared the member serving.
func settleLag(h octaviatest.HealthCheck, opts memberwait.Options) time.Duration {
	clk := vclock.New(epoch)
	octa := octaviatest.NewServer(octaviatest.Options{Clock: clk, Seed: 1})
	defer octa.Close()
	spec := h.Monitor
	seeded := octa.Seed(octaviatest.LoadBalancerSpec{Name: "kubeapi", Listeners: []octaviatest.ListenerSpec{{Port: 6443,
		Pool: &octaviatest.PoolSpec{Name: "kubeapi", Monitor: &spec}}}})
	octa.ScriptMembers(octaviatest.MemberMatch{Name: "new"}, h.Script(settleActive))
	client := octa.ServiceClient()
	m, err := pools.CreateMember(context.Background(), client, seeded.PoolIDs[0], pools.CreateMemberOpts{Name: "new", Address: "10.0.0.12", ProtocolPort: 6443}).Extract()
	if err != nil {
		panic(err)
	}
	opts.Clock, opts.Rand = clk, func() float64 { return 0.5 }
	stop, done := make(chan struct{}), make(chan struct{})
	go func() { defer close(done); clk.Drive(1, stop) }()
	_, err = memberwait.Wait(context.Background(), memberwait.StatusTree(client), seeded.LoadBalancerID, memberwait.Selector{ID: m.ID}, opts)
	close(stop)
	<-done
	if err != nil {
		panic(err)
	}
	return clk.Since(epoch) - settleActive
}

func secs1(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
