package cycle

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	. "github.com/onsi/gomega"

	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/memberwait"
)

var now = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// fakeObserver hands out a remembered and a fresh snapshot.
type fakeObserver struct {
	reused, fresh *memberwait.Snapshot
	freshReads    int
	dueAt         time.Time
	dueAfter      time.Duration
}

func (f *fakeObserver) ObserveOrReuse(context.Context, time.Time) (*memberwait.Snapshot, time.Time, bool, error) {
	return f.reused, now.Add(-10 * time.Second), false, nil
}

func (f *fakeObserver) ObserveFresh(context.Context) (*memberwait.Snapshot, time.Time, error) {
	f.freshReads++
	return f.fresh, now, nil
}

func (f *fakeObserver) Due(at time.Time, after time.Duration) { f.dueAt, f.dueAfter = at, after }

func snapshot(op string) *memberwait.Snapshot {
	return &memberwait.Snapshot{LoadBalancerID: "lb", Found: true, Complete: true, ProvisioningStatus: memberwait.StatusActive,
		OperatingStatus: memberwait.StatusOnline, Pools: []memberwait.PoolStatus{{ID: "pool", Members: []memberwait.MemberStatus{
			{ID: "m-old", Address: "10.0.0.1", ProvisioningStatus: memberwait.StatusActive, OperatingStatus: memberwait.StatusOnline},
			{ID: "m-new", Address: "10.0.0.2", ProvisioningStatus: memberwait.StatusActive, OperatingStatus: op}}}}}
}

func machine(name, addr string, deleting bool) Machine {
	return Machine{Machine: gate.Machine{Name: name, Deleting: deleting, HasNode: true, HasHook: true},
		Find: func(p memberwait.PoolStatus) (memberwait.MemberStatus, bool) {
			for _, m := range p.Members {
				if m.Address == addr {
					return m, true
				}
			}
			return memberwait.MemberStatus{}, false
		}}
}

// A release decided on a remembered observation is decided again on a
// fresh one, and the fresh one's answer stands.
func TestRunReleasesOnlyOnAFreshObservation(t *testing.T) {
	obs := &fakeObserver{reused: snapshot(memberwait.StatusOnline), fresh: snapshot(memberwait.StatusOffline)}
	c := Cycle{Input: gate.Input{Now: now, Policy: gate.Policy{Mode: gate.Enforce, AlertAfter: time.Hour}},
		Machines: []Machine{machine("old", "10.0.0.1", true), machine("new", "10.0.0.2", false)},
		Options:  memberwait.Options{Target: memberwait.Serving, SettleWindow: -1, NotFoundGrace: time.Hour},
		Memory:   Memory{Rows: map[string]Row{}}, Observer: obs, Clock: func() time.Time { return now }}
	c.Input.LoadBalancer.ID = "lb"
	out := Run(context.Background(), c)
	if obs.freshReads != 1 {
		t.Fatalf("want one fresh read before the release, got %d", obs.freshReads)
	}
	if len(out.Decision.Release) != 0 || !out.Decision.Blocking {
		t.Fatalf("released on the remembered observation: %+v", out.Decision)
	}
	if !out.ObservedAt.Equal(now) || !obs.dueAt.Equal(now) || obs.dueAfter <= 0 || obs.dueAfter > gate.Resync {
		t.Fatalf("due recorded for %v after %v, observed at %v", obs.dueAt, obs.dueAfter, out.ObservedAt)
	}
	rows := out.Rows(nil)
	if len(rows) != 2 || rows[1].Name != "new" || rows[1].MemberReady || len(rows[1].Members) != 1 || rows[1].Members[0].Progress.MemberID != "m-new" {
		t.Fatalf("rows: %+v", rows)
	}

	// The same on a fresh observation that agrees: released at once.
	obs.fresh = obs.reused
	if out := Run(context.Background(), c); len(out.Decision.Release) != 1 || out.Decision.Release[0].Machine != "old" {
		t.Fatalf("not released when Octavia agrees: %+v", out.Decision)
	}
}

func TestRequeueAfter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		asked  time.Duration
		age    time.Duration
		paused bool
		want   time.Duration
	}{
		{"nothing pending", 0, 0, false, gate.Resync},
		{"counted from the observation", 10 * time.Second, 4 * time.Second, false, 6 * time.Second},
		{"overdue: the floor", 10 * time.Second, time.Minute, false, time.Second / 10},
		{"capped", 2 * gate.Resync, 0, false, gate.Resync},
		{"paused", 10 * time.Second, 0, true, 0},
	} {
		o := Outcome{Input: gate.Input{Paused: tc.paused}, Decision: gate.Decision{RequeueAfter: tc.asked}, ObservedAt: now.Add(-tc.age)}
		if got := o.RequeueAfter(now); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Through an outage a Machine with a remembered verdict keeps its member
// rows and its last verdict's message; the hold is written either way.
func TestRowsKeepProgressThroughAnOutage(t *testing.T) {
	prev := map[string]Row{"a": {Name: "a", MemberReadiness: gate.MemberReadiness{MemberReady: true, Reason: gate.ReasonServing, Message: "serving"},
		Members: []Member{{Progress: memberwait.Progress{PoolID: "pool", MemberID: "m", Since: now.Add(-time.Minute)}}}}}
	in := gate.Input{Now: now, Policy: gate.Policy{Mode: gate.Enforce}, Machines: []gate.Machine{{Name: "a", HasNode: true, Last: prev["a"].last()}}}
	in.LoadBalancer.Err = context.DeadlineExceeded
	o := Outcome{Input: in, Decision: gate.Decide(in)}
	rows := o.Rows(prev)
	if len(rows) != 1 || len(rows[0].Members) != 1 || rows[0].Message != "serving" || rows[0].Reason != gate.ReasonServing {
		t.Fatalf("rows after an outage: %+v", rows)
	}
	if v := rows[0].last(); v == nil || !v.MemberReady {
		t.Fatalf("last verdict lost: %+v", v)
	}
}

// refusing is an Octavia answering 429 with Retry-After.
type refusing struct{ fakeObserver }

func (r *refusing) ObserveOrReuse(context.Context, time.Time) (*memberwait.Snapshot, time.Time, bool, error) {
	h := http.Header{}
	h.Set("Retry-After", "120")
	return nil, now, true, fmt.Errorf("reading the status tree: %w", gophercloud.ErrUnexpectedResponseCode{Actual: 429, ResponseHeader: h})
}

// An Octavia that answers 429 with Retry-After: 120 is not asked again
// before then, although a hold would look again in seconds and the resync
// is 30 s.
func TestRunHonoursRetryAfter(t *testing.T) {
	g := NewWithT(t)
	obs := &refusing{}
	c := Cycle{Input: gate.Input{Now: now, Policy: gate.Policy{Mode: gate.Enforce, AlertAfter: time.Hour}},
		Machines: []Machine{machine("old", "10.0.0.1", true), machine("new", "10.0.0.2", false)},
		Options:  memberwait.Options{Target: memberwait.Serving},
		Memory:   Memory{Rows: map[string]Row{}}, Observer: obs, Clock: func() time.Time { return now }}
	c.Input.LoadBalancer.ID = "lb"
	o := Run(context.Background(), c)
	g.Expect(o.Decision.Release).To(BeEmpty())
	g.Expect(o.RequeueAfter(now)).To(Equal(120*time.Second), "requeue")
	g.Expect(obs.dueAfter).To(Equal(120 * time.Second))
}
