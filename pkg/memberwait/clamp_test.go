package memberwait

import (
	"strings"
	"testing"
	"time"
)

// TestEvaluateSinceAfterTheObservation: callers persist Since rounded up to
// the second, so the next observation can come before it. The time held is
// then zero: never printed negative, never credited as more.
func TestEvaluateSinceAfterTheObservation(t *testing.T) {
	o := opts(Serving, func(o *Options) { o.SettleWindow = 3 * time.Second })
	ms := mem(StatusActive, StatusOnline)
	prev := Progress{MemberID: "m1", PoolID: "pool", ProvisioningStatus: StatusActive, OperatingStatus: StatusOnline,
		Since: t0.Add(time.Second), LastSeen: t0}
	v := Evaluate(Observation{Snapshot: snap(StatusActive, MonitorPresent, ms), At: t0.Add(300 * time.Millisecond)}, Selector{ID: "m1"}, o, prev)
	if v.Outcome != Pending || strings.Contains(v.Reason, "-") || !strings.Contains(v.Reason, "for 0s of the 3s settle window") {
		t.Fatalf("got %s (%s), want pending, 0s of the window", v.Outcome, v.Reason)
	}
	// The rest of the window is the whole window, not more.
	if v.RetryAfter > 3*time.Second {
		t.Fatalf("RetryAfter %s, more than the window", v.RetryAfter)
	}
	// A window of none is reached at once, even then.
	o.SettleWindow = -1
	v = Evaluate(Observation{Snapshot: snap(StatusActive, MonitorPresent, ms), At: t0.Add(300 * time.Millisecond)}, Selector{ID: "m1"}, o, prev)
	if v.Outcome != Done || strings.Contains(v.Reason, "-") {
		t.Fatalf("no settle window: %s (%s), want Done with no negative time", v.Outcome, v.Reason)
	}
}
