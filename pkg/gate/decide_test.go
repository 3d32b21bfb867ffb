package gate

import (
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/membergate/membergate/pkg/memberwait"
)

var now = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

const pool = "pool-6443"

func serving() memberwait.Verdict {
	return memberwait.Verdict{Outcome: memberwait.Done, Member: &memberwait.MemberStatus{ID: "m", Address: "10.0.0.1", ProtocolPort: 6443,
		ProvisioningStatus: "ACTIVE", OperatingStatus: "ONLINE"}}
}

func pending(prov, op string) memberwait.Verdict {
	return memberwait.Verdict{Outcome: memberwait.Pending, RetryAfter: 2 * time.Second, Reason: "member " + prov + "/" + op,
		Member: &memberwait.MemberStatus{ID: "new", Address: "10.0.0.9", ProtocolPort: 6443, ProvisioningStatus: prov, OperatingStatus: op}}
}

func failed(err error) memberwait.Verdict {
	return memberwait.Verdict{Outcome: memberwait.Failed, Err: err, Reason: err.Error()}
}

// machine builds a control-plane Machine with a Node and the hook, whose
// member in the pool has the given verdict.
func machine(name string, v memberwait.Verdict, mods ...func(*Machine)) Machine {
	m := Machine{Name: name, HasNode: true, HasHook: true, Members: map[string]memberwait.Verdict{pool: v}}
	for _, mod := range mods {
		mod(&m)
	}
	return m
}

func deleting(m *Machine) { m.Deleting = true }
func noHook(m *Machine)   { m.HasHook = false }
func noNode(m *Machine)   { m.HasNode = false }
func noMember(m *Machine) { m.Members = nil }
func heldSince(d time.Duration) func(*Machine) {
	return func(m *Machine) { m.HeldSince = now.Add(-d) }
}

func input(mode Mode, machines ...Machine) Input {
	return Input{Now: now, Policy: Policy{Mode: mode, AlertAfter: 10 * time.Minute},
		LoadBalancer: LoadBalancer{ID: "lb", Found: true}, PoolIDs: []string{pool}, Machines: machines}
}

func released(d Decision) []string {
	var out []string
	for _, r := range d.Release {
		out = append(out, r.Machine)
	}
	sort.Strings(out)
	return out
}

func held(d Decision) []string {
	var out []string
	for _, m := range d.Machines {
		if m.Held {
			out = append(out, m.Name)
		}
	}
	sort.Strings(out)
	return out
}

func eventReasons(d Decision) []string {
	var out []string
	for _, e := range d.Events {
		out = append(out, e.Reason)
	}
	return out
}

func TestDecideRolloutStates(t *testing.T) {
	cases := []struct {
		name     string
		in       Input
		addHook  []string
		release  []string
		held     []string
		events   []string
		blocking bool
	}{
		{name: "steady state: hooks go on every control-plane Machine",
			in:      input(Enforce, machine("a", serving(), noHook), machine("b", serving()), machine("c", serving(), noHook)),
			addHook: []string{"a", "c"}},
		{name: "maxSurge=1: new member PENDING_CREATE behind an ACTIVE LB holds the old Machine",
			in: input(Enforce, machine("old-a", serving(), deleting), machine("b", serving()), machine("c", serving()),
				machine("new-d", pending("PENDING_CREATE", "OFFLINE"))),
			held: []string{"old-a"}, events: []string{EventHeld}, blocking: true},
		{name: "maxSurge=1: new member ACTIVE but not yet ONLINE still holds",
			in: input(Enforce, machine("old-a", serving(), deleting, heldSince(time.Minute)), machine("b", serving()), machine("c", serving()),
				machine("new-d", pending("ACTIVE", "OFFLINE"))),
			held: []string{"old-a"}, blocking: true},
		{name: "maxSurge=1: new member serves, the old Machine goes",
			in: input(Enforce, machine("old-a", serving(), deleting, heldSince(time.Minute)), machine("b", serving()), machine("c", serving()),
				machine("new-d", serving())),
			release: []string{"old-a"}, events: []string{EventReleased}},
		{name: "members serve while the LB is PENDING_UPDATE for another member's change",
			in: input(Enforce, machine("old-a", serving(), deleting), machine("b", func() memberwait.Verdict {
				v := pending("ACTIVE", "ONLINE")
				v.MemberReached = true
				return v
			}())),
			release: []string{"old-a"}, events: []string{EventReleased}},
		{name: "maxSurge=0: the remaining Machines serve, one more may go",
			in:      input(Enforce, machine("old-a", serving(), deleting), machine("b", serving()), machine("c", serving())),
			release: []string{"old-a"}, events: []string{EventReleased}},
		{name: "maxSurge=0: a remaining Machine not serving holds",
			in: input(Enforce, machine("old-a", serving(), deleting), machine("b", serving()),
				machine("c", failed(&memberwait.MemberError{Member: memberwait.MemberStatus{ID: "x", ProvisioningStatus: "ERROR"}}))),
			held: []string{"old-a"}, events: []string{EventHeld}, blocking: true},
		{name: "a new Machine without a Node yet does not count",
			in:      input(Enforce, machine("old-a", serving(), deleting), machine("b", serving()), machine("new-d", pending("PENDING_CREATE", "OFFLINE"), noNode, noHook)),
			addHook: []string{"new-d"}, release: []string{"old-a"}, events: []string{EventReleased}},
		{name: "a remaining Machine with no member holds",
			in:   input(Enforce, machine("old-a", serving(), deleting), machine("b", serving(), noMember)),
			held: []string{"old-a"}, events: []string{EventHeld}, blocking: true},
		{name: "the last control-plane Machine is never deadlocked",
			in:      input(Enforce, machine("only", serving(), deleting)),
			release: []string{"only"}, events: []string{EventReleased}},
		{name: "a deleting Machine without the hook has nothing to release",
			in: input(Enforce, machine("old-a", serving(), deleting, noHook), machine("b", pending("ACTIVE", "OFFLINE")))},
		{name: "the manual release annotation lets it go, loudly",
			in: input(Enforce, machine("old-a", serving(), deleting, heldSince(time.Hour), func(m *Machine) { m.ManualRelease = "alice: member stuck, accepted" }),
				machine("b", pending("PENDING_CREATE", "OFFLINE"))),
			release: []string{"old-a"}, events: []string{EventManualRelease}},
		{name: "held past the alert threshold: alert once, never release",
			in:   input(Enforce, machine("old-a", serving(), deleting, heldSince(11*time.Minute)), machine("b", pending("PENDING_CREATE", "OFFLINE"))),
			held: []string{"old-a"}, events: []string{EventHeldTooLong}, blocking: true},
		{name: "already alerted: no second alert, still held",
			in:   input(Enforce, machine("old-a", serving(), deleting, heldSince(time.Hour), func(m *Machine) { m.Alerted = true }), machine("b", pending("PENDING_CREATE", "OFFLINE"))),
			held: []string{"old-a"}, blocking: true},
		{name: "cluster deletion releases every hook at once",
			in: func() Input {
				in := input(Enforce, machine("a", serving(), deleting), machine("b", pending("PENDING_CREATE", "OFFLINE")))
				in.Deleting = true
				return in
			}(),
			release: []string{"a", "b"}, events: []string{EventClusterDeleted, EventClusterDeleted}},
		{name: "paused: nothing at all",
			in: func() Input {
				in := input(Enforce, machine("a", serving(), deleting), machine("b", pending("PENDING_CREATE", "OFFLINE"), noHook))
				in.Paused = true
				return in
			}()},
		{name: "Audit: report, never hold, remove hooks",
			in:      input(Audit, machine("a", serving(), deleting), machine("b", pending("PENDING_CREATE", "OFFLINE")), machine("c", serving(), noHook)),
			release: []string{"a", "b"}},
		{name: "Disabled: remove hooks, report nothing",
			in:      input(Disabled, machine("a", serving(), deleting), machine("b", serving()), machine("c", serving(), noHook)),
			release: []string{"a", "b"}},
		{name: "Octavia unreachable: hold",
			in: func() Input {
				in := input(Enforce, machine("a", serving(), deleting), machine("b", serving()))
				in.LoadBalancer.Err = errors.New("503 Service Unavailable")
				return in
			}(),
			held: []string{"a"}, events: []string{EventHeld}, blocking: true},
		{name: "minServingMembers larger than what remains: hold",
			in: func() Input {
				in := input(Enforce, machine("a", serving(), deleting), machine("b", serving()))
				in.Policy.MinServingMembers = 2
				return in
			}(),
			held: []string{"a"}, events: []string{EventHeld}, blocking: true},
		{name: "two deleting Machines go together when the rest serve",
			in:      input(Enforce, machine("a", serving(), deleting), machine("b", serving(), deleting), machine("c", serving()), machine("d", serving())),
			release: []string{"a", "b"}, events: []string{EventReleased, EventReleased}},
		{name: "orphan members are reported",
			in: func() Input {
				in := input(Enforce, machine("a", serving()))
				in.Orphans = []memberwait.MemberStatus{{ID: "zz", Address: "10.0.0.99", ProtocolPort: 6443, ProvisioningStatus: "ACTIVE", OperatingStatus: "ONLINE"}}
				return in
			}(),
			events: []string{EventOrphanMember}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.in)
			sort.Strings(d.AddHook)
			check := func(what string, got, want []string) {
				t.Helper()
				if len(got) == 0 && len(want) == 0 {
					return
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %v, want %v", what, got, want)
				}
			}
			check("AddHook", d.AddHook, tc.addHook)
			check("Release", released(d), tc.release)
			check("Held", held(d), tc.held)
			check("Events", eventReasons(d), tc.events)
			if d.Blocking != tc.blocking {
				t.Errorf("Blocking = %v, want %v", d.Blocking, tc.blocking)
			}
			if d.Blocking && d.RequeueAfter <= 0 {
				t.Errorf("a held rollout must be looked at again, RequeueAfter = %s", d.RequeueAfter)
			}
		})
	}
}

func TestDecideConditions(t *testing.T) {
	in := input(Enforce,
		machine("serving", serving()),
		machine("pending", pending("PENDING_CREATE", "OFFLINE")),
		machine("offline", pending("ACTIVE", "OFFLINE")),
		machine("error", failed(&memberwait.MemberError{Member: memberwait.MemberStatus{ID: "e", ProvisioningStatus: "ERROR"}})),
		machine("missing", serving(), noMember),
	)
	want := map[string]string{"serving": ReasonServing, "pending": ReasonMemberPending, "offline": ReasonMemberNotServing,
		"error": ReasonMemberError, "missing": ReasonMemberMissing}
	d := Decide(in)
	if len(d.Machines) != len(want) {
		t.Fatalf("%d statuses for %d Machines", len(d.Machines), len(want))
	}
	for _, st := range d.Machines {
		if st.Reason != want[st.Name] || st.MemberReady != (st.Name == "serving") {
			t.Errorf("%s: ready=%v reason=%s (%s), want reason %s", st.Name, st.MemberReady, st.Reason, st.Message, want[st.Name])
		}
		if !strings.Contains(st.Message, "pool "+pool) {
			t.Errorf("%s: message %q does not name the pool", st.Name, st.Message)
		}
	}
	// The worst pool decides the reason when a Machine has several.
	in = input(Enforce, Machine{Name: "two", HasNode: true, HasHook: true, Members: map[string]memberwait.Verdict{
		"p1": serving(), "p2": pending("PENDING_CREATE", "OFFLINE")}})
	in.PoolIDs = []string{"p1", "p2"}
	if st := Decide(in).Machines[0]; st.MemberReady || st.Reason != ReasonMemberPending {
		t.Errorf("two pools, one pending: ready=%v reason=%s", st.MemberReady, st.Reason)
	}
}

func TestDecideHoldTimeline(t *testing.T) {
	// A stuck member: the hold starts, the alert comes once after AlertAfter,
	// and nothing is ever released by the passing of time.
	m := machine("old", serving(), deleting)
	stuck := machine("new", pending("PENDING_CREATE", "OFFLINE"))
	var alerts int
	for step := 0; step <= 120; step++ {
		in := input(Enforce, m, stuck)
		in.Now = now.Add(time.Duration(step) * time.Minute)
		d := Decide(in)
		if len(d.Release) != 0 {
			t.Fatalf("released after %d min", step)
		}
		st := d.Machines[0]
		if !st.HeldSince.Equal(now) {
			t.Fatalf("HeldSince moved to %s", st.HeldSince)
		}
		for _, e := range d.Events {
			if e.Reason == EventHeldTooLong {
				alerts++
				if step != 10 || !e.Warning {
					t.Fatalf("alert at %d min (warning=%v), want once at 10", step, e.Warning)
				}
			}
		}
		m.HeldSince, m.Alerted = st.HeldSince, st.Alerted
	}
	if alerts != 1 {
		t.Fatalf("%d alerts, want 1", alerts)
	}
}
