package memberwait

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
)

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// snap builds a one-pool snapshot with the given LB status and members.
func snap(lb string, monitor MonitorPresence, members ...MemberStatus) *Snapshot {
	return &Snapshot{LoadBalancerID: "lb", Found: true, ProvisioningStatus: lb, OperatingStatus: StatusOnline, Complete: true,
		Pools: []PoolStatus{{ID: "pool", ProvisioningStatus: StatusActive, Monitor: monitor, Members: members}}}
}

func mem(prov, op string) MemberStatus {
	return MemberStatus{ID: "m1", Name: "node-1", Address: "10.0.0.5", ProtocolPort: 6443, ProvisioningStatus: prov, OperatingStatus: op}
}

func code(c int, header http.Header) error {
	return gophercloud.ErrUnexpectedResponseCode{Actual: c, ResponseHeader: header, Body: []byte(`{"faultstring":"x"}`)}
}

var noJitter = Options{Rand: func() float64 { return 0 }}

func opts(target Target, mod func(*Options)) Options {
	o := noJitter
	o.Target = target
	if mod != nil {
		mod(&o)
	}
	return o
}

// TestEvaluateSingleObservation covers what one observation decides on its own.
func TestEvaluateSingleObservation(t *testing.T) {
	sel := Selector{ID: "m1"}
	cases := []struct {
		name    string
		opts    Options
		sel     Selector
		obs     Observation
		outcome Outcome
		errAs   any
		reason  string
	}{
		{name: "amphorav2 quirk: LB ACTIVE, member PENDING_CREATE", opts: opts(Provisioned, nil),
			obs: Observation{Snapshot: snap(StatusActive, MonitorPresent, mem(StatusPendingCreate, StatusOffline))}, outcome: Pending, reason: "PENDING_CREATE"},
		{name: "member ACTIVE but LB PENDING_UPDATE", opts: opts(Provisioned, nil),
			obs: Observation{Snapshot: snap(StatusPendingUpdate, MonitorPresent, mem(StatusActive, StatusOffline))}, outcome: Pending, reason: "load balancer PENDING_UPDATE"},
		{name: "provisioned", opts: opts(Provisioned, nil),
			obs: Observation{Snapshot: snap(StatusActive, MonitorPresent, mem(StatusActive, StatusOffline))}, outcome: Done},
		{name: "member ERROR is terminal", opts: opts(Serving, nil),
			obs: Observation{Snapshot: snap(StatusActive, MonitorPresent, mem(StatusError, StatusOffline))}, outcome: Failed, errAs: new(*MemberError), reason: "ERROR/OFFLINE"},
		{name: "member ERROR fails a Gone wait too", opts: opts(Gone, nil),
			obs: Observation{Snapshot: snap(StatusActive, MonitorPresent, mem(StatusError, StatusOffline))}, outcome: Failed, errAs: new(*MemberError)},
		{name: "unknown status is pending, never success", opts: opts(Provisioned, nil),
			obs: Observation{Snapshot: snap(StatusActive, MonitorPresent, mem("SOMETHING_NEW", StatusOnline))}, outcome: Pending},
		{name: "unknown LB status is not pending but not ERROR either", opts: opts(Provisioned, nil),
			obs: Observation{Snapshot: snap(StatusActive, MonitorPresent, mem(StatusActive, "WEIRD"))}, outcome: Done},
		{name: "serving needs ONLINE", opts: opts(Serving, nil),
			obs: Observation{Snapshot: snap(StatusActive, MonitorPresent, mem(StatusActive, StatusOffline))}, outcome: Pending, reason: "waiting for ONLINE"},
		{name: "op ERROR is not terminal", opts: opts(Serving, nil),
			obs: Observation{Snapshot: snap(StatusActive, MonitorPresent, mem(StatusActive, StatusError))}, outcome: Pending},
		{name: "first ONLINE sample is not proof", opts: opts(Serving, nil),
			obs: Observation{Snapshot: snap(StatusActive, MonitorPresent, mem(StatusActive, StatusOnline))}, outcome: Pending, reason: "settle window"},
		{name: "no settle window: first ONLINE serves", opts: opts(Serving, func(o *Options) { o.SettleWindow = -1 }),
			obs: Observation{Snapshot: snap(StatusActive, MonitorPresent, mem(StatusActive, StatusOnline))}, outcome: Done},
		{name: "NO_MONITOR without monitor fails by default", opts: opts(Serving, nil),
			obs: Observation{Snapshot: snap(StatusActive, MonitorAbsent, mem(StatusActive, StatusNoMonitor))}, outcome: Failed, errAs: new(*NoMonitorError)},
		{name: "NO_MONITOR with unknown monitor fails by default", opts: opts(Serving, nil),
			obs: Observation{Snapshot: snap(StatusActive, MonitorUnknown, mem(StatusActive, StatusNoMonitor))}, outcome: Failed, errAs: new(*NoMonitorError)},
		{name: "NO_MONITOR while a monitor is present waits for it", opts: opts(Serving, nil),
			obs: Observation{Snapshot: snap(StatusActive, MonitorPresent, mem(StatusActive, StatusNoMonitor))}, outcome: Pending},
		{name: "NO_MONITOR under the Wait policy", opts: opts(Serving, func(o *Options) { o.NoMonitor = NoMonitorWait }),
			obs: Observation{Snapshot: snap(StatusActive, MonitorAbsent, mem(StatusActive, StatusNoMonitor))}, outcome: Pending},
		{name: "NO_MONITOR under the Serving policy settles like ONLINE", opts: opts(Serving, func(o *Options) { o.NoMonitor = NoMonitorServing; o.SettleWindow = -1 }),
			obs: Observation{Snapshot: snap(StatusActive, MonitorAbsent, mem(StatusActive, StatusNoMonitor))}, outcome: Done},
		{name: "LB ERROR fails", opts: opts(Provisioned, nil),
			obs: Observation{Snapshot: snap(StatusError, MonitorPresent, mem(StatusActive, StatusOnline))}, outcome: Failed, errAs: new(*LoadBalancerError)},
		{name: "gone: member absent", opts: opts(Gone, nil),
			obs: Observation{Snapshot: snap(StatusActive, MonitorPresent)}, outcome: Done},
		{name: "gone: member PENDING_DELETE", opts: opts(Gone, nil),
			obs: Observation{Snapshot: snap(StatusPendingUpdate, MonitorPresent, mem(StatusPendingDelete, StatusOnline))}, outcome: Pending},
		{name: "gone: member absent but LB PENDING_UPDATE", opts: opts(Gone, nil),
			obs: Observation{Snapshot: snap(StatusPendingUpdate, MonitorPresent)}, outcome: Pending},
		{name: "gone: member DELETED", opts: opts(Gone, nil),
			obs: Observation{Snapshot: snap(StatusActive, MonitorPresent, mem(StatusDeleted, StatusOffline))}, outcome: Done},
		{name: "gone: load balancer 404", opts: opts(Gone, nil),
			obs: Observation{Snapshot: &Snapshot{LoadBalancerID: "lb"}}, outcome: Done},
		{name: "gone: member still ACTIVE", opts: opts(Gone, nil),
			obs: Observation{Snapshot: snap(StatusActive, MonitorPresent, mem(StatusActive, StatusOnline))}, outcome: Pending},
		{name: "409 is retried", opts: opts(Serving, nil), obs: Observation{Err: code(409, nil)}, outcome: Pending},
		{name: "429 is retried", opts: opts(Serving, nil), obs: Observation{Err: code(429, nil)}, outcome: Pending},
		{name: "503 is retried", opts: opts(Serving, nil), obs: Observation{Err: code(503, nil)}, outcome: Pending},
		{name: "transport error is retried", opts: opts(Serving, nil), obs: Observation{Err: errors.New("dial tcp 127.0.0.1:1: connection refused")}, outcome: Pending},
		{name: "401 is not retried", opts: opts(Serving, nil), obs: Observation{Err: code(401, nil)}, outcome: Failed},
		{name: "ambiguous selector", opts: opts(Serving, nil), sel: Selector{Address: "10.0.0.5"},
			obs: Observation{Snapshot: snap(StatusActive, MonitorPresent, mem(StatusActive, StatusOnline),
				MemberStatus{ID: "m2", Address: "10.0.0.5", ProtocolPort: 443, ProvisioningStatus: StatusActive})}, outcome: Failed, errAs: new(*AmbiguousError)},
		{name: "selector by address and port", opts: opts(Provisioned, nil), sel: Selector{Address: "10.0.0.5", ProtocolPort: 6443},
			obs: Observation{Snapshot: snap(StatusActive, MonitorPresent, mem(StatusActive, StatusOnline),
				MemberStatus{ID: "m2", Address: "10.0.0.5", ProtocolPort: 443, ProvisioningStatus: StatusError})}, outcome: Done},
		{name: "empty selector", opts: opts(Serving, nil), sel: Selector{PoolID: "pool"},
			obs: Observation{Snapshot: snap(StatusActive, MonitorPresent)}, outcome: Failed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.sel
			if s == (Selector{}) {
				s = sel
			}
			tc.obs.At = t0
			v := Evaluate(tc.obs, s, tc.opts, Progress{})
			if v.Outcome != tc.outcome {
				t.Fatalf("outcome = %s (%s), want %s", v.Outcome, v.Reason, tc.outcome)
			}
			if tc.errAs != nil && !errors.As(v.Err, tc.errAs) {
				t.Fatalf("error %v (%T) is not %T", v.Err, v.Err, tc.errAs)
			}
			if tc.outcome == Failed && v.Err == nil {
				t.Fatalf("failed without an error")
			}
			if tc.outcome == Pending && (v.RetryAfter < 0 || v.RetryAfter > DefaultMaxDelay) {
				t.Fatalf("RetryAfter = %s, want within (0, %s]", v.RetryAfter, DefaultMaxDelay)
			}
			if !strings.Contains(v.Reason, tc.reason) {
				t.Fatalf("reason %q does not mention %q", v.Reason, tc.reason)
			}
		})
	}
}

// TestEvaluateSettleWindow follows one member through a sequence of
// observations: ONLINE, a drop to ERROR inside the settle window, ONLINE again
// and finally held long enough.
func TestEvaluateSettleWindow(t *testing.T) {
	o := opts(Serving, func(o *Options) { o.SettleWindow = 30 * time.Second })
	steps := []struct {
		at      time.Duration
		op      string
		outcome Outcome
		retry   time.Duration // upper bound on RetryAfter when pending
	}{
		{0, StatusOffline, Pending, time.Second},
		{5 * time.Second, StatusOnline, Pending, time.Second}, // change: backoff restarts
		{25 * time.Second, StatusOnline, Pending, 10 * time.Second},
		{30 * time.Second, StatusError, Pending, time.Second}, // dropped inside the window
		{40 * time.Second, StatusOnline, Pending, time.Second},
		{50 * time.Second, StatusOnline, Pending, 10 * time.Second},
		{60 * time.Second, StatusOnline, Pending, 10 * time.Second},
		{69 * time.Second, StatusOnline, Pending, time.Second}, // 29 s held: look again in 1 s, not later
		{70 * time.Second, StatusOnline, Done, 0},
	}
	var p Progress
	for _, s := range steps {
		v := Evaluate(Observation{Snapshot: snap(StatusActive, MonitorPresent, mem(StatusActive, s.op)), At: t0.Add(s.at)}, Selector{ID: "m1"}, o, p)
		if v.Outcome != s.outcome {
			t.Fatalf("t=%s %s: outcome %s (%s), want %s", s.at, s.op, v.Outcome, v.Reason, s.outcome)
		}
		if v.Outcome == Pending && v.RetryAfter > s.retry {
			t.Fatalf("t=%s: RetryAfter %s > %s", s.at, v.RetryAfter, s.retry)
		}
		p = v.Progress
	}
	if want := t0.Add(40 * time.Second); !p.Since.Equal(want) {
		t.Fatalf("Since = %s, want %s: the settle window must restart after the drop", p.Since, want)
	}
}

func TestEvaluateNotFoundGrace(t *testing.T) {
	o := opts(Provisioned, func(o *Options) { o.NotFoundGrace = 10 * time.Second })
	var p Progress
	for _, at := range []time.Duration{0, 4 * time.Second, 9 * time.Second} {
		v := Evaluate(Observation{Snapshot: snap(StatusActive, MonitorPresent), At: t0.Add(at)}, Selector{ID: "m1", PoolID: "pool"}, o, p)
		if v.Outcome != Pending {
			t.Fatalf("t=%s: %s, want Pending within the grace", at, v.Outcome)
		}
		if left := 10*time.Second - at; v.RetryAfter > left {
			t.Fatalf("t=%s: RetryAfter %s overshoots the grace end (%s left)", at, v.RetryAfter, left)
		}
		p = v.Progress
	}
	v := Evaluate(Observation{Snapshot: snap(StatusActive, MonitorPresent), At: t0.Add(10 * time.Second)}, Selector{ID: "m1", PoolID: "pool"}, o, p)
	var nf *NotFoundError
	if v.Outcome != Failed || !errors.As(v.Err, &nf) || nf.Kind != "member" || !nf.Since.Equal(t0) {
		t.Fatalf("after the grace: %s %v, want a member NotFoundError since t0", v.Outcome, v.Err)
	}
	// A missing pool is named as such.
	v = Evaluate(Observation{Snapshot: &Snapshot{LoadBalancerID: "lb", Found: true, ProvisioningStatus: StatusActive, Complete: true}, At: t0},
		Selector{ID: "m1", PoolID: "other"}, opts(Provisioned, func(o *Options) { o.NotFoundGrace = -1 }), Progress{})
	if !errors.As(v.Err, &nf) || nf.Kind != "pool" {
		t.Fatalf("missing pool: %v, want a pool NotFoundError", v.Err)
	}
	// A missing load balancer too.
	v = Evaluate(Observation{Snapshot: &Snapshot{LoadBalancerID: "lb"}, At: t0}, Selector{ID: "m1"}, opts(Serving, func(o *Options) { o.NotFoundGrace = -1 }), Progress{})
	if !errors.As(v.Err, &nf) || nf.Kind != "load balancer" || nf.LoadBalancerID != "lb" {
		t.Fatalf("missing LB: %v, want a load balancer NotFoundError", v.Err)
	}
}

func TestEvaluateRetryAfterHeader(t *testing.T) {
	h := http.Header{}
	h.Set("Retry-After", "7")
	v := Evaluate(Observation{Err: code(429, h), At: t0}, Selector{ID: "m1"}, noJitter, Progress{})
	if v.Outcome != Pending || v.RetryAfter != 7*time.Second {
		t.Fatalf("got %s after %s, want Pending after 7s", v.Outcome, v.RetryAfter)
	}
}

func TestEvaluateAsksForTheLoadBalancer(t *testing.T) {
	s := snap("", MonitorUnknown, mem(StatusActive, StatusOnline))
	v := Evaluate(Observation{Snapshot: s, At: t0}, Selector{ID: "m1"}, opts(Provisioned, nil), Progress{})
	if v.Outcome != Pending || !v.NeedLoadBalancer || v.RetryAfter != 0 {
		t.Fatalf("got %+v, want an immediate pending asking for the LB status", v)
	}
}

func TestEvaluateRemembersTheResolvedMember(t *testing.T) {
	// Found by address, then another member takes the address: the wait
	// stays on the member it resolved.
	sel := Selector{Address: "10.0.0.5"}
	v := Evaluate(Observation{Snapshot: snap(StatusActive, MonitorPresent, mem(StatusPendingCreate, StatusOffline)), At: t0}, sel, opts(Gone, nil), Progress{})
	if v.Progress.MemberID != "m1" || v.Progress.PoolID != "pool" {
		t.Fatalf("progress %+v did not record the member", v.Progress)
	}
	other := mem(StatusActive, StatusOnline)
	other.ID = "m9"
	v = Evaluate(Observation{Snapshot: snap(StatusActive, MonitorPresent, other), At: t0.Add(time.Second)}, sel, opts(Gone, nil), v.Progress)
	if v.Outcome != Done {
		t.Fatalf("the resolved member is gone, got %s (%s)", v.Outcome, v.Reason)
	}
}

func TestBackoff(t *testing.T) {
	b := Backoff{}
	var prev time.Duration
	for unchanged := time.Duration(0); unchanged < 5*time.Minute; unchanged += 700 * time.Millisecond {
		d := b.Delay(unchanged, 0)
		if d < prev {
			t.Fatalf("after %s unchanged: %s < %s: the schedule must not shrink", unchanged, d, prev)
		}
		if d > DefaultMaxDelay {
			t.Fatalf("after %s unchanged: %s exceeds the cap", unchanged, d)
		}
		prev = d
	}
	for _, tc := range []struct{ unchanged, want time.Duration }{
		{0, time.Second}, {time.Second, 1500 * time.Millisecond}, {2500 * time.Millisecond, 2250 * time.Millisecond}, {time.Hour, DefaultMaxDelay},
	} {
		if got := b.Delay(tc.unchanged, 0); got != tc.want {
			t.Fatalf("after %s unchanged: gap %s, want %s", tc.unchanged, got, tc.want)
		}
	}
	// A lone waiter's polls fall at 0, 1, 2.5, 4.75 … s: gaps 1, 1.5, 2.25 …
	// — exponential, as with a step counter.
	var at time.Duration
	for n, want := range []time.Duration{time.Second, 1500 * time.Millisecond, 2250 * time.Millisecond, 3375 * time.Millisecond} {
		gap := b.Delay(at, 0)
		if gap != want {
			t.Fatalf("gap %d = %s, want %s", n, gap, want)
		}
		at += gap
	}
	// Jitter only shortens, by less than the jitter fraction.
	for _, r := range []float64{0, 0.25, 0.5, 0.999} {
		for unchanged := time.Duration(0); unchanged < time.Minute; unchanged += time.Second {
			full, d := b.Delay(unchanged, 0), b.Delay(unchanged, r)
			if d > full || float64(d) < float64(full)*(1-DefaultJitter) {
				t.Fatalf("unchanged=%s r=%g: %s outside [%s·0.8, %s]", unchanged, r, d, full, full)
			}
		}
	}
	custom := Backoff{Initial: 2 * time.Second, Factor: 2, Max: 5 * time.Second, Jitter: -1}
	for _, tc := range []struct{ unchanged, want time.Duration }{{0, 2 * time.Second}, {2 * time.Second, 4 * time.Second}, {6 * time.Second, 5 * time.Second}} {
		if got := custom.Delay(tc.unchanged, 0.9); got != tc.want {
			t.Fatalf("custom after %s: %s, want %s", tc.unchanged, got, tc.want)
		}
	}
}

func TestParse(t *testing.T) {
	for _, tg := range []Target{Provisioned, Serving, Gone} {
		got, err := ParseTarget(strings.ToLower(tg.String()))
		if err != nil || got != tg {
			t.Fatalf("ParseTarget(%s) = %v, %v", tg, got, err)
		}
	}
	if _, err := ParseTarget("ready"); err == nil {
		t.Fatal("ParseTarget accepted an unknown target")
	}
	for _, p := range []NoMonitorPolicy{NoMonitorFail, NoMonitorServing, NoMonitorWait} {
		got, err := ParseNoMonitorPolicy(p.String())
		if err != nil || got != p {
			t.Fatalf("ParseNoMonitorPolicy(%s) = %v, %v", p, got, err)
		}
	}
}

func TestTimeoutErrorUnwrapsContext(t *testing.T) {
	e := &TimeoutError{LoadBalancerID: "lb", Selector: Selector{ID: "m1"}, Target: Serving, Waited: time.Minute,
		Last: &MemberStatus{ProvisioningStatus: StatusActive, OperatingStatus: StatusOffline}, Since: t0, Cause: errDeadline}
	if !errors.Is(e, errDeadline) {
		t.Fatal("TimeoutError does not unwrap to its cause")
	}
	if msg := e.Error(); !strings.Contains(msg, "ACTIVE/OFFLINE since 2026-11-21T10:00:00Z") {
		t.Fatalf("message %q lacks the last statuses and since-when", msg)
	}
}

var errDeadline = errors.New("deadline")

func TestEvaluateWatchesForTheFirstOnline(t *testing.T) {
	o := opts(Serving, nil)
	p := Progress{ProvisioningStatus: StatusActive, OperatingStatus: StatusOffline, Since: t0}
	obs := func(at time.Duration) Observation {
		return Observation{Snapshot: snap(StatusActive, MonitorPresent, mem(StatusActive, StatusOffline)), At: t0.Add(at)}
	}
	if v := Evaluate(obs(15*time.Second), Selector{ID: "m1"}, o, p); v.RetryAfter != DefaultOnlineWatchGap {
		t.Fatalf("15 s after turning ACTIVE: gap %s, want the watch gap %s", v.RetryAfter, DefaultOnlineWatchGap)
	}
	if v := Evaluate(obs(25*time.Second), Selector{ID: "m1"}, o, p); v.RetryAfter != DefaultMaxDelay {
		t.Fatalf("25 s after: gap %s, want the backoff's %s", v.RetryAfter, DefaultMaxDelay)
	}
	o.OnlineWatch = -1
	if v := Evaluate(obs(15*time.Second), Selector{ID: "m1"}, o, p); v.RetryAfter != 8500*time.Millisecond {
		t.Fatalf("watch off: gap %s, want the backoff's 1s + 0.5×15s = 8.5s", v.RetryAfter)
	}
}

func TestEvaluateMemberReachedBehindAPendingLoadBalancer(t *testing.T) {
	o := opts(Serving, func(o *Options) { o.SettleWindow = -1 })
	v := Evaluate(Observation{Snapshot: snap(StatusPendingUpdate, MonitorPresent, mem(StatusActive, StatusOnline)), At: t0}, Selector{ID: "m1"}, o, Progress{})
	if v.Outcome != Pending || !v.MemberReached {
		t.Fatalf("got %s reached=%v, want Pending with the member reached", v.Outcome, v.MemberReached)
	}
	v = Evaluate(Observation{Snapshot: snap(StatusPendingUpdate, MonitorPresent, mem(StatusActive, StatusOffline)), At: t0}, Selector{ID: "m1"}, o, Progress{})
	if v.MemberReached {
		t.Fatal("an OFFLINE member has not reached Serving")
	}
}

func TestEvaluateRetriesSoonAfterAFailedPoll(t *testing.T) {
	// Unchanged for ten minutes: the next look would be 10 s away, but a
	// failed poll is retried after 1 s, then 1.5 s, … while errors go on.
	p := Progress{ProvisioningStatus: StatusActive, OperatingStatus: StatusOffline, Since: t0, Started: t0}
	at := t0.Add(10 * time.Minute)
	for i, want := range []time.Duration{time.Second, 1500 * time.Millisecond, 2250 * time.Millisecond} {
		v := Evaluate(Observation{Err: code(503, nil), At: at}, Selector{ID: "m1"}, noJitter, p)
		if v.RetryAfter != want {
			t.Fatalf("failure %d: retry after %s, want %s", i+1, v.RetryAfter, want)
		}
		p = v.Progress
	}
	v := Evaluate(Observation{Snapshot: snap(StatusActive, MonitorPresent, mem(StatusActive, StatusOffline)), At: at}, Selector{ID: "m1"}, noJitter, p)
	if v.Progress.Failures != 0 || v.RetryAfter != DefaultMaxDelay {
		t.Fatalf("after a good poll: failures %d, gap %s; want 0 and the unchanged schedule's %s", v.Progress.Failures, v.RetryAfter, DefaultMaxDelay)
	}
}

// TestEvaluateSettleNeedsFreshStatuses: a settle window runs only over
// statuses that were fresh throughout. A gap in observation (a crash, an
// outage) or a load balancer PENDING_* (a failover: no heartbeats, Octavia
// keeps the last statuses, and the new HAProxy starts every server UP)
// starts it again; ONLINE before and after is not ONLINE throughout.
func TestEvaluateSettleNeedsFreshStatuses(t *testing.T) {
	o := opts(Serving, func(o *Options) { o.SettleWindow = 30 * time.Second })
	look := func(p Progress, at time.Duration, lb string) Verdict {
		return Evaluate(Observation{Snapshot: snap(lb, MonitorPresent, mem(StatusActive, StatusOnline)), At: t0.Add(at)}, Selector{ID: "m1"}, o, p)
	}
	// Seen ONLINE at 0 and 10 s, then nobody looks until 40 s.
	v := look(Progress{}, 0, StatusActive)
	v = look(v.Progress, 10*time.Second, StatusActive)
	v = look(v.Progress, 40*time.Second, StatusActive)
	if v.Outcome == Done || !v.Progress.Since.Equal(t0.Add(40*time.Second)) {
		t.Fatalf("after a 30 s gap: %s, since %s; want the window restarted at 40 s", v.Outcome, v.Progress.Since.Sub(t0))
	}
	// A failover in the middle of the window: the LB is PENDING_UPDATE.
	v = look(Progress{}, 0, StatusActive)
	v = look(v.Progress, 10*time.Second, StatusPendingUpdate)
	v = look(v.Progress, 20*time.Second, StatusActive) // was pending at the last look
	if !v.Progress.Since.Equal(t0.Add(20 * time.Second)) {
		t.Fatalf("after a PENDING_UPDATE look: since %s, want 20 s", v.Progress.Since.Sub(t0))
	}
	for at := 30 * time.Second; at <= 50*time.Second; at += 10 * time.Second {
		v = look(v.Progress, at, StatusActive)
	}
	if v.Outcome != Done {
		t.Fatalf("30 s of fresh ONLINE after the failover: %s (%s)", v.Outcome, v.Reason)
	}
	// A member whose window ran out is not put back by a later failover.
	v = look(v.Progress, 60*time.Second, StatusPendingUpdate)
	if !v.MemberReached || !v.Progress.Since.Equal(t0.Add(20*time.Second)) {
		t.Fatalf("a settled member behind a PENDING_UPDATE: reached=%v since %s", v.MemberReached, v.Progress.Since.Sub(t0))
	}
}
