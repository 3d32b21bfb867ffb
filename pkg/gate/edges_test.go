package gate

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/membergate/membergate/pkg/memberwait"
)

func eventsOf(d Decision, reason string) []Event {
	var out []Event
	for _, e := range d.Events {
		if e.Reason == reason {
			out = append(out, e)
		}
	}
	return out
}

// A release annotation first seen before the Machine was deleting is
// ignored (once reported); a value first seen while deleting releases.
func TestDecideManualReleaseSetInAdvanceIsIgnored(t *testing.T) {
	early := func(m *Machine) {
		m.ManualRelease, m.ManualReleaseSeen, m.ManualReleaseEarly = "template: always", now.Add(-time.Hour), true
	}
	in := input(Enforce, machine("old", serving(), deleting, early), machine("new", pending("PENDING_CREATE", "OFFLINE")))
	d := Decide(in)
	if len(d.Release) != 0 {
		t.Fatalf("released on an annotation set in advance: %+v", d.Release)
	}
	if n := len(eventsOf(d, EventManualReleaseIgnored)); n != 1 {
		t.Fatalf("want one %s event at hold start, got %d", EventManualReleaseIgnored, n)
	}
	// The sighting is carried back for the status.
	if st := d.Machines[0]; !st.ManualReleaseEarly || !st.ManualReleaseSeen.Equal(now.Add(-time.Hour)) {
		t.Fatalf("sighting not carried: %+v", st)
	}
	// The hold goes on: no second event.
	in.Machines[0].HeldSince = now.Add(-time.Minute)
	if n := len(eventsOf(Decide(in), EventManualReleaseIgnored)); n != 0 {
		t.Fatalf("reported again: %d", n)
	}

	// First seen now, on a deleting Machine: honoured.
	in.Machines[0].ManualRelease, in.Machines[0].ManualReleaseSeen, in.Machines[0].ManualReleaseEarly = "alice: INC-1", time.Time{}, false
	d = Decide(in)
	if got := released(d); len(got) != 1 || got[0] != "old" || !d.Release[0].Manual {
		t.Fatalf("a release set after deletion was not honoured: %+v", d.Release)
	}
	// First seen now on a Machine not deleting: recorded as early.
	d = Decide(input(Enforce, machine("a", serving(), func(m *Machine) { m.ManualRelease = "x" })))
	if st := d.Machines[0]; !st.ManualReleaseEarly || !st.ManualReleaseSeen.Equal(now) {
		t.Fatalf("first sighting on a live Machine: %+v", st)
	}
}

// While Octavia cannot be read every Machine reports its last known
// verdict, saying since when, and nothing is released on it.
func TestDecideRemembersVerdictsThroughAnOutage(t *testing.T) {
	last := &MemberReadiness{MemberReady: true, Reason: ReasonServing, Message: "pool p: member m (10.0.0.1:6443) ACTIVE/ONLINE"}
	in := input(Enforce, machine("old", serving(), deleting), machine("b", serving(), func(m *Machine) { m.Last = last }),
		machine("c", serving()))
	in.LoadBalancer.Err = errors.New("503 Service Unavailable")
	in.LoadBalancer.UnavailableSince = now.Add(-2 * time.Minute)
	d := Decide(in)
	if len(d.Release) != 0 || !d.Blocking {
		t.Fatalf("released on a remembered verdict: %+v", d)
	}
	b, c := d.Machines[1], d.Machines[2]
	if !b.Remembered || !b.MemberReady || b.Reason != ReasonServing || !strings.Contains(b.Message, "since 2026-11-21T11:58:00Z") || !strings.Contains(b.Message, last.Message) {
		t.Fatalf("b did not keep its last verdict: %+v", b)
	}
	if c.Remembered || c.MemberReady || c.Reason != ReasonOctaviaUnavailable {
		t.Fatalf("c had no last verdict: %+v", c)
	}
}

// An orphan is reported once, and again when its statuses change.
func TestDecideReportsAnOrphanOnce(t *testing.T) {
	in := input(Enforce, machine("a", serving()))
	in.Orphans = []memberwait.MemberStatus{{ID: "o", Address: "10.0.0.99", ProtocolPort: 6443, ProvisioningStatus: "ACTIVE", OperatingStatus: "ERROR"}}
	if n := len(eventsOf(Decide(in), EventOrphanMember)); n != 1 {
		t.Fatalf("first sight: %d events", n)
	}
	in.ReportedOrphans = map[string]string{"o": "ACTIVE/ERROR"}
	if n := len(eventsOf(Decide(in), EventOrphanMember)); n != 0 {
		t.Fatalf("reported again unchanged: %d events", n)
	}
	in.ReportedOrphans = map[string]string{"o": "ACTIVE/ONLINE"}
	if n := len(eventsOf(Decide(in), EventOrphanMember)); n != 1 {
		t.Fatalf("a change was not reported: %d events", n)
	}
}

// A load balancer the cluster asks for but CAPO has not created holds, with
// a reason of its own.
func TestDecideHoldsWhileTheLoadBalancerIsNotCreated(t *testing.T) {
	in := input(Enforce, machine("old", serving(), deleting), machine("b", serving()))
	in.LoadBalancer = LoadBalancer{NotCreated: true}
	in.PoolIDs = nil
	d := Decide(in)
	if len(d.Release) != 0 || d.Machines[1].Reason != ReasonLoadBalancerNotCreated {
		t.Fatalf("%+v", d)
	}
}

// NO_MONITOR counted as serving says so in the Machine's condition.
func TestDecideSaysWhenServingHasNoMonitor(t *testing.T) {
	v := serving()
	v.Member.OperatingStatus = memberwait.StatusNoMonitor
	d := Decide(input(Enforce, machine("old", serving(), deleting), machine("b", v)))
	if got := released(d); len(got) != 1 {
		t.Fatalf("not released: %+v", d)
	}
	if st := d.Machines[1]; !st.MemberReady || st.Reason != ReasonServingNoMonitor || !strings.Contains(st.Message, "health monitor") {
		t.Fatalf("%+v", st)
	}
}

// Each fact once: the statuses appear once in a pending member's message.
func TestDecideSaysTheStatusesOnce(t *testing.T) {
	v := pending("ACTIVE", "OFFLINE")
	v.Reason = "member ACTIVE/OFFLINE, waiting for ONLINE"
	v.Progress.Since = now.Add(-20 * time.Second)
	d := Decide(input(Enforce, machine("b", v)))
	msg := d.Machines[0].Message
	if strings.Count(msg, "ACTIVE/OFFLINE") != 1 || !strings.Contains(msg, "since 2026-11-21T11:59:40Z") {
		t.Fatalf("message %q", msg)
	}
}
