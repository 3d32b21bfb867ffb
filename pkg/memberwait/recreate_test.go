package memberwait

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// servedTwoMinutes is the progress of member m1 at 10.0.0.5:6443 after two
// minutes of ACTIVE/ONLINE, as a controller persists it between reconciles.
func servedTwoMinutes(t *testing.T, o Options) (Progress, time.Time) {
	t.Helper()
	var p Progress
	var at time.Duration
	for ; at <= 2*time.Minute; at += 10 * time.Second {
		v := Evaluate(Observation{Snapshot: snap(StatusActive, MonitorPresent, mem(StatusActive, StatusOnline)), At: t0.Add(at)}, Selector{PoolID: "pool", ID: "m1"}, o, p)
		p = v.Progress
	}
	if p.MemberID != "m1" || !p.Since.Equal(t0) {
		t.Fatalf("set-up: progress %+v, want m1 serving since t0", p)
	}
	return p, t0.Add(at)
}

// recreated is m1's address and port with a new ID: the member was deleted
// and created again, and HAProxy added the new server UP before its first
// check, so it reads ACTIVE/ONLINE at once.
func recreated() MemberStatus {
	ms := mem(StatusActive, StatusOnline)
	ms.ID = "m2"
	return ms
}

// TestEvaluateRecreatedMemberStartsAfresh: a member with another ID than the
// progress's is a new member. It inherits no settle credit, whether the
// caller selects it by its new ID (the gate, which finds a Machine's member
// in each pool and passes its ID with the persisted progress) or by address.
func TestEvaluateRecreatedMemberStartsAfresh(t *testing.T) {
	o := opts(Serving, nil)
	for _, sel := range []Selector{
		{PoolID: "pool", ID: "m2"},
		{Address: "10.0.0.5", ProtocolPort: 6443},
		{PoolID: "pool", Address: "10.0.0.5"},
		{Name: "node-1"},
	} {
		prev, now := servedTwoMinutes(t, o)
		prev.MissingSince = now.Add(-time.Second) // deleted, then seen missing once
		v := Evaluate(Observation{Snapshot: snap(StatusActive, MonitorPresent, recreated()), At: now}, sel, o, prev)
		if v.Outcome != Pending {
			t.Errorf("%s: %s (%s), want Pending: the new member has not held ONLINE for the settle window", sel, v.Outcome, v.Reason)
			continue
		}
		p := v.Progress
		if p.MemberID != "m2" || !p.Since.Equal(now) || !p.MissingSince.IsZero() || p.ProvisioningStatus != StatusActive || p.OperatingStatus != StatusOnline {
			t.Errorf("%s: progress %+v, want m2 ACTIVE/ONLINE since now, not missing", sel, p)
		}
		if !strings.Contains(v.Reason, "for 0s of the 45s settle window") {
			t.Errorf("%s: reason %q", sel, v.Reason)
		}
		// And it is done a full window after it was first seen, not before.
		for at := 10 * time.Second; at < DefaultSettleWindow; at += 10 * time.Second {
			v = Evaluate(Observation{Snapshot: snap(StatusActive, MonitorPresent, recreated()), At: now.Add(at)}, sel, o, v.Progress)
		}
		v = Evaluate(Observation{Snapshot: snap(StatusActive, MonitorPresent, recreated()), At: now.Add(DefaultSettleWindow - time.Second)}, sel, o, v.Progress)
		if v.Outcome != Pending {
			t.Errorf("%s: %s a second before the window ends", sel, v.Outcome)
		}
		v = Evaluate(Observation{Snapshot: snap(StatusActive, MonitorPresent, recreated()), At: now.Add(DefaultSettleWindow)}, sel, o, v.Progress)
		if v.Outcome != Done {
			t.Errorf("%s: %s (%s) after the window", sel, v.Outcome, v.Reason)
		}
	}
}

// TestEvaluateSelectorKeepsMatching: a selector without an ID keeps
// selecting by what it names. A member re-created at the same address is
// found again (as a new member); it is not lost because the ID changed.
func TestEvaluateSelectorKeepsMatching(t *testing.T) {
	sel := Selector{Address: "10.0.0.5", ProtocolPort: 6443}
	o := opts(Provisioned, nil)
	v := Evaluate(Observation{Snapshot: snap(StatusActive, MonitorPresent, mem(StatusActive, StatusOnline)), At: t0}, sel, o, Progress{})
	if v.Outcome != Done || v.Progress.MemberID != "m1" {
		t.Fatalf("first look: %s %+v", v.Outcome, v.Progress)
	}
	v = Evaluate(Observation{Snapshot: snap(StatusActive, MonitorPresent, recreated()), At: t0.Add(time.Minute)}, sel, o, v.Progress)
	if v.Outcome != Done || v.Progress.MemberID != "m2" || v.Member == nil || v.Member.ID != "m2" {
		t.Fatalf("after the re-create: %s (%s), progress %+v; want Done on m2", v.Outcome, v.Reason, v.Progress)
	}
}

// TestEvaluateResolvedMemberDisambiguates: an address selector that resolved
// to one member keeps to it when a second member on another port comes to
// match; with no member resolved yet, two matches are ambiguous.
func TestEvaluateResolvedMemberDisambiguates(t *testing.T) {
	sel := Selector{Address: "10.0.0.5"}
	o := opts(Serving, nil)
	v := Evaluate(Observation{Snapshot: snap(StatusActive, MonitorPresent, mem(StatusActive, StatusOnline)), At: t0}, sel, o, Progress{})
	if v.Outcome != Pending || v.Progress.MemberID != "m1" {
		t.Fatalf("first look: %s (%s) %+v", v.Outcome, v.Reason, v.Progress)
	}
	other := mem(StatusPendingCreate, StatusOffline)
	other.ID, other.ProtocolPort = "m3", 22623
	both := snap(StatusActive, MonitorPresent, mem(StatusActive, StatusOnline), other)
	w := Evaluate(Observation{Snapshot: both, At: t0.Add(10 * time.Second)}, sel, o, v.Progress)
	if w.Outcome != Pending || w.Member == nil || w.Member.ID != "m1" || !w.Progress.Since.Equal(t0) {
		t.Fatalf("with a second match: %s (%s) on %+v, want m1 still settling since t0", w.Outcome, w.Reason, w.Member)
	}
	w = Evaluate(Observation{Snapshot: both, At: t0}, sel, o, Progress{})
	var ae *AmbiguousError
	if w.Outcome != Failed || !errors.As(w.Err, &ae) {
		t.Fatalf("two matches from the start: %s %v, want an AmbiguousError", w.Outcome, w.Err)
	}
	// A Gone wait is about the member it resolved: a new member in its
	// place does not keep it pending.
	v = Evaluate(Observation{Snapshot: snap(StatusActive, MonitorPresent, mem(StatusPendingDelete, StatusOnline)), At: t0}, sel, opts(Gone, nil), Progress{})
	v = Evaluate(Observation{Snapshot: snap(StatusActive, MonitorPresent, recreated()), At: t0.Add(time.Second)}, sel, opts(Gone, nil), v.Progress)
	if v.Outcome != Done || !strings.Contains(v.Reason, "m1 gone") {
		t.Fatalf("gone wait with a new member in the old one's place: %s (%s)", v.Outcome, v.Reason)
	}
}
