package memberwait_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"

	"github.com/membergate/membergate/pkg/memberwait"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
	"github.com/membergate/membergate/pkg/memberwait/vclock"
)

var start = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// bed is one emulated cloud on a virtual clock: a load balancer with a TCP
// listener on 6443 and a pool with a monitor holding two serving members.
type bed struct {
	t      *testing.T
	clk    *vclock.Clock
	octa   *octaviatest.Server
	client *gophercloud.ServiceClient
	seeded octaviatest.Seeded
	lb     string
	pool   string
}

func newBed(t *testing.T, monitor bool) *bed {
	t.Helper()
	clk := vclock.New(start)
	octa := octaviatest.NewServer(octaviatest.Options{Clock: clk, Seed: 1})
	t.Cleanup(octa.Close)
	pool := &octaviatest.PoolSpec{Name: "kubeapi", Members: []octaviatest.MemberSpec{
		{Name: "old-0", Address: "10.0.0.10", ProtocolPort: 6443, OperatingStatus: memberwait.StatusOnline},
		{Name: "old-1", Address: "10.0.0.11", ProtocolPort: 6443, OperatingStatus: memberwait.StatusOnline},
	}}
	if monitor {
		pool.Monitor = &octaviatest.MonitorSpec{Type: "TCP", Delay: 10, Timeout: 5, MaxRetries: 5, MaxRetriesDown: 3}
	}
	seeded := octa.Seed(octaviatest.LoadBalancerSpec{Name: "kubeapi", Listeners: []octaviatest.ListenerSpec{{Port: 6443, Pool: pool}}})
	return &bed{t: t, clk: clk, octa: octa, client: octa.ServiceClient(), seeded: seeded, lb: seeded.LoadBalancerID, pool: seeded.PoolIDs[0]}
}

// addMember creates a member through the API, as CAPO does.
func (b *bed) addMember(name, address string) string {
	b.t.Helper()
	m, err := pools.CreateMember(context.Background(), b.client, b.pool, pools.CreateMemberOpts{Name: name, Address: address, ProtocolPort: 6443}).Extract()
	if err != nil {
		b.t.Fatalf("creating member %s: %v", name, err)
	}
	return m.ID
}

// at returns the virtual time elapsed since the bed started.
func (b *bed) at() time.Duration { return b.clk.Since(start) }

// wait runs fn on virtual time: the clock jumps to the next timer whenever
// one is armed, until fn returns.
func (b *bed) wait(fn func()) {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); b.clk.Drive(1, stop) }()
	fn()
	close(stop)
	<-done
}

// recorder keeps every update with the virtual time it was made at.
type recorder struct {
	mu      sync.Mutex
	clk     *vclock.Clock
	updates []stamped
}

type stamped struct {
	at time.Duration
	u  memberwait.Update
}

func (r *recorder) record(u memberwait.Update) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.updates = append(r.updates, stamped{r.clk.Since(start), u})
}

func (r *recorder) firstDone() (time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.updates {
		if s.u.Verdict.Outcome == memberwait.Done {
			return s.at, true
		}
	}
	return 0, false
}

func TestWaitAmphorav2QuirkWaitsForTheMemberToServe(t *testing.T) {
	b := newBed(t, true)
	b.octa.ScriptMembers(octaviatest.MemberMatch{Name: "new-0"}, octaviatest.MemberScript{
		Provisioning: []octaviatest.Step{{After: 0, Status: memberwait.StatusPendingCreate}, {After: 45 * time.Second, Status: memberwait.StatusActive}},
		Operating:    []octaviatest.Step{{After: 0, Status: memberwait.StatusOffline}, {After: 55 * time.Second, Status: memberwait.StatusOnline}},
	})
	id := b.addMember("new-0", "10.0.0.12")
	rec := &recorder{clk: b.clk}

	var res memberwait.Result
	var err error
	var lbActiveAt time.Duration
	b.wait(func() {
		// What CAPO <= v0.13 waits for: the load balancer. It is ACTIVE long
		// before the member is.
		b.clk.Sleep(2 * time.Second)
		lb, _ := b.octa.LoadBalancer(b.lb)
		m, _ := b.octa.Member(id)
		if lb.ProvisioningStatus != memberwait.StatusActive || m.ProvisioningStatus != memberwait.StatusPendingCreate {
			t.Errorf("at 2s: LB %s, member %s; the quirk needs LB ACTIVE and member PENDING_CREATE", lb.ProvisioningStatus, m.ProvisioningStatus)
		}
		lbActiveAt = b.at()
		res, err = memberwait.Wait(context.Background(), memberwait.StatusTree(b.client), b.lb,
			memberwait.Selector{PoolID: b.pool, ID: id}, memberwait.Options{Clock: b.clk, OnUpdate: rec.record})
	})
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	returned := b.at()
	// The bed's monitor is CAPO's: delay 10 s, timeout 5 s, 3 retries down.
	window := memberwait.AutoSettleWindow(memberwait.HealthMonitor{Delay: 10 * time.Second, Timeout: 5 * time.Second, MaxRetriesDown: 3}, "amphora", 0)
	earliest := 55*time.Second + window
	if returned < earliest {
		t.Fatalf("returned at %s, before the member served for the settle window (%s)", returned, earliest)
	}
	// ONLINE comes right after ACTIVE, while the waiter watches closely.
	if lag := returned - earliest; lag > memberwait.DefaultOnlineWatchGap {
		t.Fatalf("returned %s after the earliest correct moment; more than the watch gap", lag)
	}
	if doneAt, _ := rec.firstDone(); doneAt != returned {
		t.Fatalf("first Done update at %s, return at %s", doneAt, returned)
	}
	if res.Verdict.Member == nil || res.Verdict.Member.Statuses() != "ACTIVE/ONLINE" {
		t.Fatalf("last observed member %+v, want ACTIVE/ONLINE", res.Verdict.Member)
	}
	polls := b.octa.RequestCount(octaviatest.OpGetLoadBalancerStatus)
	t.Logf("LB ACTIVE by %s; member served from 55s; memberwait returned at %s after %d status-tree requests", lbActiveAt, returned, polls)
	if polls < 10 || polls > 40 {
		t.Fatalf("%d requests for a 100 s wait: outside the schedule's plausible range", polls)
	}
}

func TestWaitMemberErrorFailsWithinOnePoll(t *testing.T) {
	b := newBed(t, true)
	b.octa.ScriptMembers(octaviatest.MemberMatch{Name: "new-0"}, octaviatest.MemberScript{
		Provisioning: []octaviatest.Step{{After: 0, Status: memberwait.StatusPendingCreate}, {After: 5 * time.Second, Status: memberwait.StatusError}},
	})
	id := b.addMember("new-0", "10.0.0.12")
	rec := &recorder{clk: b.clk}
	var err error
	b.wait(func() {
		_, err = memberwait.Wait(context.Background(), memberwait.StatusTree(b.client), b.lb, memberwait.Selector{ID: id},
			memberwait.Options{Clock: b.clk, OnUpdate: rec.record})
	})
	var me *memberwait.MemberError
	if !errors.As(err, &me) {
		t.Fatalf("err = %v (%T), want *MemberError", err, err)
	}
	if me.Member.ProvisioningStatus != memberwait.StatusError || me.PoolID != b.pool || me.LoadBalancerID != b.lb {
		t.Fatalf("error carries %+v", me)
	}
	lb, _ := b.octa.LoadBalancer(b.lb)
	if lb.ProvisioningStatus != memberwait.StatusActive {
		t.Fatalf("LB %s: the scenario needs it ACTIVE (Octavia's revert path)", lb.ProvisioningStatus)
	}
	// Every evaluation before the failure saw the member before t=5s: the
	// first poll after the ERROR reported it.
	rec.mu.Lock()
	defer rec.mu.Unlock()
	last := rec.updates[len(rec.updates)-1]
	if last.u.Verdict.Outcome != memberwait.Failed {
		t.Fatalf("last update %s", last.u.Verdict.Outcome)
	}
	for _, s := range rec.updates[:len(rec.updates)-1] {
		if s.at >= 5*time.Second {
			t.Fatalf("a poll at %s, after the ERROR, did not fail", s.at)
		}
	}
	t.Logf("ERROR at 5s reported at %s", last.at)
}

func TestWaitOnlineThenErrorInsideTheSettleWindowIsNotServing(t *testing.T) {
	b := newBed(t, true)
	b.octa.ScriptMembers(octaviatest.MemberMatch{Name: "new-0"}, octaviatest.MemberScript{
		// HAProxy adds the server UP before its first check; the checks then
		// fail (say, a security group drops them) and the member falls.
		Operating: []octaviatest.Step{{After: 0, Status: memberwait.StatusOffline}, {After: 10 * time.Second, Status: memberwait.StatusOnline}, {After: 40 * time.Second, Status: memberwait.StatusError}},
	})
	id := b.addMember("new-0", "10.0.0.12")
	var err error
	b.wait(func() {
		_, err = memberwait.Wait(context.Background(), memberwait.StatusTree(b.client), b.lb, memberwait.Selector{ID: id},
			memberwait.Options{Clock: b.clk, Timeout: 3 * time.Minute})
	})
	var te *memberwait.TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want a timeout: the member never served for a settle window", err)
	}
	if te.Last == nil || te.Last.Statuses() != "ACTIVE/ERROR" || te.Since.Sub(start) < 40*time.Second {
		t.Fatalf("timeout carries last %+v since %s, want ACTIVE/ERROR since >= 40s", te.Last, te.Since.Sub(start))
	}
	if got := b.at(); got != 3*time.Minute {
		t.Fatalf("timed out at %s, want exactly 3m on the clock", got)
	}
}

func TestWaitNoisyAPIStillCorrect(t *testing.T) {
	b := newBed(t, true)
	b.octa.ScriptMembers(octaviatest.MemberMatch{Name: "new-0"}, octaviatest.MemberScript{
		Provisioning: []octaviatest.Step{{After: 0, Status: memberwait.StatusPendingCreate}, {After: 45 * time.Second, Status: memberwait.StatusActive}},
		Operating:    []octaviatest.Step{{After: 0, Status: memberwait.StatusOffline}, {After: 55 * time.Second, Status: memberwait.StatusOnline}},
	})
	id := b.addMember("new-0", "10.0.0.12")
	b.octa.InjectFault(octaviatest.Fault{Method: "GET", Probability: 0.3, Codes: []int{409, 429, 503}})
	b.octa.InjectFault(octaviatest.Fault{Method: "GET", Latency: 200 * time.Millisecond})
	var err error
	b.wait(func() {
		_, err = memberwait.Wait(context.Background(), memberwait.StatusTree(b.client), b.lb, memberwait.Selector{ID: id},
			memberwait.Options{Clock: b.clk, Timeout: 5 * time.Minute})
	})
	if err != nil {
		t.Fatalf("wait through a noisy API: %v", err)
	}
	if got := b.at(); got < 55*time.Second+memberwait.DefaultSettleWindow {
		t.Fatalf("returned at %s, before the member served for the settle window", got)
	}
}

func TestHundredWaitersShareOnePollPerLoadBalancer(t *testing.T) {
	const n = 100
	run := func(waiters int, jitter func(i int) func() float64) (requests, polls int, returned time.Duration) {
		b := newBed(t, true)
		b.octa.ScriptMembers(octaviatest.MemberMatch{Name: "new-0"}, octaviatest.MemberScript{
			Provisioning: []octaviatest.Step{{After: 0, Status: memberwait.StatusPendingCreate}, {After: 30 * time.Second, Status: memberwait.StatusActive}},
			Operating:    []octaviatest.Step{{After: 0, Status: memberwait.StatusOffline}, {After: 40 * time.Second, Status: memberwait.StatusOnline}},
		})
		id := b.addMember("new-0", "10.0.0.12")
		b.octa.ResetCounters()
		p := memberwait.NewPoller(memberwait.StatusTree(b.client), b.clk)
		var wg sync.WaitGroup
		errs := make(chan error, waiters)
		var mu sync.Mutex
		for i := 0; i < waiters; i++ {
			wg.Add(1)
			opts := memberwait.Options{Rand: jitter(i)}
			go func() {
				defer wg.Done()
				rs, err := p.Wait(context.Background(), b.lb, []memberwait.Selector{{ID: id}, {Name: "old-0"}}, opts)
				errs <- err
				mu.Lock()
				defer mu.Unlock()
				for _, r := range rs {
					if at := r.Verdict.At.Sub(start); at > returned {
						returned = at
					}
				}
			}()
		}
		for p.Waiting(b.lb) < 2*waiters {
			// Registration is not timed: all waiters are in before the
			// clock moves, so the first poll is shared too.
			b.clk.BlockUntil(1)
		}
		b.wait(wg.Wait)
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("waiter: %v", err)
			}
		}
		return b.octa.TotalRequests(), p.Stats().Polls, returned
	}
	// The same jitter for everyone: exactly one waiter's schedule.
	same := func(int) func() float64 { return func() float64 { return 0.5 } }
	aloneReq, _, aloneAt := run(1, same)
	req, polls, at := run(n, same)
	t.Logf("1 waiter: %d requests in %s; %d waiters: %d requests, %d polls in %s", aloneReq, aloneAt, n, req, polls, at)
	// Besides the polls, the monitor and the provider are read once, for
	// the settle window.
	if req != polls+2 {
		t.Fatalf("%d requests for %d polls: want one request per poll, and two for the monitor and the provider", req, polls)
	}
	if req != aloneReq || at != aloneAt {
		t.Fatalf("%d waiters cost %d requests and returned at %s; one waiter costs %d and returns at %s", n, req, at, aloneReq, aloneAt)
	}
	// Each waiter its own jitter: the most impatient sets the pace, so a
	// little more than one waiter's schedule, never one per waiter.
	own := func(i int) func() float64 { return rand.New(rand.NewPCG(7, uint64(i))).Float64 }
	aloneReq, _, _ = run(1, own)
	req, polls, _ = run(n, own)
	t.Logf("own jitter: 1 waiter %d requests; %d waiters %d requests in %d polls", aloneReq, n, req, polls)
	if req != polls+2 || float64(req) > 1.2*float64(aloneReq) {
		t.Fatalf("%d waiters with their own jitter: %d requests in %d polls, one waiter %d: want one per poll and at most 1.2×", n, req, polls, aloneReq)
	}
}

func TestWaitGoneAfterDelete(t *testing.T) {
	b := newBed(t, true)
	old := b.seeded.MemberIDs[0][0]
	if err := pools.DeleteMember(context.Background(), b.client, b.pool, old).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	var err error
	b.wait(func() {
		_, err = memberwait.Wait(context.Background(), memberwait.StatusTree(b.client), b.lb, memberwait.Selector{ID: old},
			memberwait.Options{Clock: b.clk, Target: memberwait.Gone})
	})
	if err != nil {
		t.Fatalf("wait gone: %v", err)
	}
	if _, ok := b.octa.Member(old); ok {
		t.Fatal("returned while the member still exists")
	}
	lb, _ := b.octa.LoadBalancer(b.lb)
	if lb.ProvisioningStatus != memberwait.StatusActive {
		t.Fatalf("returned with the LB %s", lb.ProvisioningStatus)
	}
}

func TestWaitNotFoundAfterGrace(t *testing.T) {
	b := newBed(t, true)
	var err error
	b.wait(func() {
		_, err = memberwait.Wait(context.Background(), memberwait.StatusTree(b.client), b.lb, memberwait.Selector{Address: "10.9.9.9"},
			memberwait.Options{Clock: b.clk})
	})
	var nf *memberwait.NotFoundError
	if !errors.As(err, &nf) || nf.Kind != "member" {
		t.Fatalf("err = %v, want a member NotFoundError", err)
	}
	if got := b.at(); got < memberwait.DefaultNotFoundGrace || got > memberwait.DefaultNotFoundGrace+time.Second {
		t.Fatalf("not found reported at %s, want right after the %s grace", got, memberwait.DefaultNotFoundGrace)
	}
	// An unknown load balancer likewise.
	b.wait(func() {
		_, err = memberwait.Wait(context.Background(), memberwait.StatusTree(b.client), "00000000-0000-0000-0000-000000000000", memberwait.Selector{Address: "10.0.0.10"},
			memberwait.Options{Clock: b.clk, NotFoundGrace: -1})
	})
	if !errors.As(err, &nf) || nf.Kind != "load balancer" {
		t.Fatalf("err = %v, want a load balancer NotFoundError", err)
	}
}

func TestWaitTimeoutCarriesLastStatuses(t *testing.T) {
	b := newBed(t, true)
	b.octa.ScriptMembers(octaviatest.MemberMatch{Name: "stuck"}, octaviatest.MemberScript{
		Provisioning: []octaviatest.Step{{After: 0, Status: memberwait.StatusPendingCreate}},
	})
	id := b.addMember("stuck", "10.0.0.12")
	var err error
	b.wait(func() {
		_, err = memberwait.Wait(context.Background(), memberwait.StatusTree(b.client), b.lb, memberwait.Selector{ID: id},
			memberwait.Options{Clock: b.clk, Timeout: 2 * time.Minute})
	})
	var te *memberwait.TimeoutError
	if !errors.As(err, &te) || te.Last == nil || te.Last.ProvisioningStatus != memberwait.StatusPendingCreate || !te.Since.Equal(start.Add(memberwait.JoinWindow)) {
		t.Fatalf("err = %#v, want a timeout with PENDING_CREATE since the first poll", err)
	}
	if te.Waited != 2*time.Minute || te.LoadBalancerID != b.lb {
		t.Fatalf("timeout after %s on %q", te.Waited, te.LoadBalancerID)
	}
}

func TestWaitContextEndsTheWait(t *testing.T) {
	b := newBed(t, true)
	b.octa.ScriptMembers(octaviatest.MemberMatch{Name: "stuck"}, octaviatest.MemberScript{
		Provisioning: []octaviatest.Step{{After: 0, Status: memberwait.StatusPendingCreate}},
	})
	id := b.addMember("stuck", "10.0.0.12")
	ctx, cancel := context.WithCancel(context.Background())
	var err error
	b.wait(func() {
		go func() { b.clk.Sleep(30 * time.Second); cancel() }()
		_, err = memberwait.Wait(ctx, memberwait.StatusTree(b.client), b.lb, memberwait.Selector{ID: id}, memberwait.Options{Clock: b.clk})
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	ctx, cancel = context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err = memberwait.Wait(ctx, memberwait.StatusTree(b.client), b.lb, memberwait.Selector{ID: id}, memberwait.Options{Clock: b.clk})
	var te *memberwait.TimeoutError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &te) {
		t.Fatalf("err = %v, want a TimeoutError wrapping DeadlineExceeded", err)
	}
}

func TestWaitNoMonitor(t *testing.T) {
	b := newBed(t, false)
	id := b.addMember("new-0", "10.0.0.12")
	var err error
	b.wait(func() {
		_, err = memberwait.Wait(context.Background(), memberwait.StatusTree(b.client), b.lb, memberwait.Selector{ID: id}, memberwait.Options{Clock: b.clk})
	})
	var nm *memberwait.NoMonitorError
	if !errors.As(err, &nm) {
		t.Fatalf("err = %v, want *NoMonitorError by default", err)
	}
	if got := b.at(); got > 5*time.Second {
		t.Fatalf("NO_MONITOR reported at %s: it should fail as soon as the member is ACTIVE", got)
	}
	b.wait(func() {
		_, err = memberwait.Wait(context.Background(), memberwait.StatusTree(b.client), b.lb, memberwait.Selector{ID: id},
			memberwait.Options{Clock: b.clk, NoMonitor: memberwait.NoMonitorServing, SettleWindow: 20 * time.Second})
	})
	if err != nil {
		t.Fatalf("NO_MONITOR accepted as serving: %v", err)
	}
}

func TestWaitRecoversFromAnAPIOutage(t *testing.T) {
	b := newBed(t, true)
	id := b.addMember("new-0", "10.0.0.12")
	b.octa.ScriptMember(id, octaviatest.MemberScript{Operating: []octaviatest.Step{{After: 0, Status: memberwait.StatusOffline}, {After: 20 * time.Second, Status: memberwait.StatusOnline}}})
	remove := b.octa.InjectFault(octaviatest.Fault{Codes: []int{503}})
	var err error
	b.wait(func() {
		go func() { b.clk.Sleep(90 * time.Second); remove() }()
		_, err = memberwait.Wait(context.Background(), memberwait.StatusTree(b.client), b.lb, memberwait.Selector{ID: id}, memberwait.Options{Clock: b.clk})
	})
	if err != nil {
		t.Fatalf("after a 90 s outage: %v", err)
	}
	if got := b.at(); got < 90*time.Second || got > 90*time.Second+memberwait.DefaultMaxDelay+memberwait.DefaultSettleWindow {
		t.Fatalf("returned at %s", got)
	}
}

func TestLeadershipPassesOn(t *testing.T) {
	b := newBed(t, true)
	b.octa.ScriptMembers(octaviatest.MemberMatch{Name: "slow"}, octaviatest.MemberScript{
		Provisioning: []octaviatest.Step{{After: 0, Status: memberwait.StatusPendingCreate}, {After: 60 * time.Second, Status: memberwait.StatusActive}},
	})
	slow := b.addMember("slow", "10.0.0.13")
	b.octa.ResetCounters()
	p := memberwait.NewPoller(memberwait.StatusTree(b.client), b.clk)
	var fastErr, slowErr error
	var fastAt, slowAt time.Duration
	b.wait(func() {
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			var rs []memberwait.Result
			rs, fastErr = p.Wait(context.Background(), b.lb, []memberwait.Selector{{Name: "old-0"}}, memberwait.Options{Target: memberwait.Provisioned})
			fastAt = rs[0].Verdict.At.Sub(start)
		}()
		go func() {
			defer wg.Done()
			var rs []memberwait.Result
			rs, slowErr = p.Wait(context.Background(), b.lb, []memberwait.Selector{{ID: slow}}, memberwait.Options{Target: memberwait.Provisioned})
			slowAt = rs[0].Verdict.At.Sub(start)
		}()
		wg.Wait()
	})
	if fastErr != nil || slowErr != nil {
		t.Fatalf("errors: %v, %v", fastErr, slowErr)
	}
	// The fast member is decided at the first poll after its LB leaves
	// PENDING_UPDATE (0.7 s), whatever the slow one does meanwhile.
	if fastAt > 1100*time.Millisecond || slowAt < 60*time.Second {
		t.Fatalf("fast returned at %s, slow at %s", fastAt, slowAt)
	}
	if got, polls := b.octa.TotalRequests(), p.Stats().Polls; got != polls {
		t.Fatalf("%d requests for %d polls", got, polls)
	}
}

// capoClient has the method set of CAPO's clients.LbClient that memberwait
// needs, with CAPO's context-free signatures.
type capoClient struct{ sc *gophercloud.ServiceClient }

func (c capoClient) GetLoadBalancer(id string) (*loadbalancers.LoadBalancer, error) {
	return loadbalancers.Get(context.TODO(), c.sc, id).Extract()
}

func (c capoClient) ListPoolMember(poolID string, opts pools.ListMembersOptsBuilder) ([]pools.Member, error) {
	pages, err := pools.ListMembers(c.sc, poolID, opts).AllPages(context.TODO())
	if err != nil {
		return nil, err
	}
	return pools.ExtractMembers(pages)
}

func TestWaitThroughACAPOClient(t *testing.T) {
	b := newBed(t, true)
	b.octa.ScriptMembers(octaviatest.MemberMatch{Name: "new-0"}, octaviatest.MemberScript{
		Provisioning: []octaviatest.Step{{After: 0, Status: memberwait.StatusPendingCreate}, {After: 20 * time.Second, Status: memberwait.StatusActive}},
	})
	b.addMember("new-0", "10.0.0.12")
	b.octa.ResetCounters()
	var err error
	b.wait(func() {
		_, err = memberwait.Wait(context.Background(), memberwait.FromLbClient(capoClient{b.client}), b.lb,
			memberwait.Selector{PoolID: b.pool, Address: "10.0.0.12", ProtocolPort: 6443}, memberwait.Options{Clock: b.clk, Target: memberwait.Provisioned})
	})
	if err != nil {
		t.Fatal(err)
	}
	lists, gets := b.octa.RequestCount(octaviatest.OpListMembers), b.octa.RequestCount(octaviatest.OpGetLoadBalancer)
	t.Logf("through CAPO's client: %d member lists, %d load balancer GETs", lists, gets)
	if gets != 1 || lists < 5 {
		t.Fatalf("%d lists and %d LB GETs: want one list per poll and a single LB read to confirm", lists, gets)
	}
}

func TestCheckIsOneShot(t *testing.T) {
	b := newBed(t, true)
	id := b.addMember("new-0", "10.0.0.12")
	b.octa.ScriptMember(id, octaviatest.MemberScript{Operating: []octaviatest.Step{{After: 0, Status: memberwait.StatusOffline}, {After: 5 * time.Second, Status: memberwait.StatusOnline}}})
	src := memberwait.StatusTree(b.client)
	members := []memberwait.Selector{{ID: id}, {Name: "old-0"}}
	opts := memberwait.Options{Clock: b.clk, SettleWindow: 10 * time.Second, Rand: func() float64 { return 0 }}
	var progress []memberwait.Progress
	var steps int
	for ; steps < 50; steps++ {
		before := b.octa.TotalRequests()
		vs := memberwait.Check(context.Background(), src, b.lb, members, opts, progress)
		if got := b.octa.TotalRequests() - before; got != 1 {
			t.Fatalf("Check made %d requests, want 1", got)
		}
		progress = progress[:0]
		for _, v := range vs {
			progress = append(progress, v.Progress)
		}
		d, pending := memberwait.RetryAfter(vs)
		if !pending {
			break
		}
		if vs[0].Outcome == memberwait.Done {
			t.Fatalf("new member done at %s", b.at())
		}
		b.clk.Advance(d)
	}
	// ONLINE from 5 s can be concluded no earlier than 15 s, and no later
	// than the gap in which it became ONLINE (< 3.4 s at that point) after.
	if got := b.at(); got < 15*time.Second || got > 15*time.Second+3400*time.Millisecond {
		t.Fatalf("serving (ONLINE at 5s + 10s settle) concluded at %s after %d checks", got, steps)
	}
}
