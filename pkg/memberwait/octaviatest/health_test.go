package octaviatest

import (
	"testing"
	"time"
)

func TestHealthCheckScriptsInitialUpThenDown(t *testing.T) {
	h := HealthCheck{Monitor: MonitorSpec{Delay: 30, Timeout: 10, MaxRetriesDown: 3}, Phase: 8 * time.Second}
	if got := h.TimeToDown(); got != 100*time.Second {
		t.Fatalf("time to DOWN %s, want 100s", got)
	}
	sc := h.Script(2 * time.Second)
	want := []Step{{0, StatusOffline}, {8 * time.Second, StatusOnline}, {108 * time.Second, StatusError}}
	if len(sc.Operating) != len(want) {
		t.Fatalf("operating steps %v, want %v", sc.Operating, want)
	}
	for i := range want {
		if sc.Operating[i] != want[i] {
			t.Fatalf("operating steps %v, want %v", sc.Operating, want)
		}
	}
	h.Serves = true
	if sc := h.Script(2 * time.Second); len(sc.Operating) != 2 {
		t.Fatalf("a serving member: %v, want OFFLINE then ONLINE only", sc.Operating)
	}
	// CAPO's defaults, heartbeat on the dot of ACTIVE.
	h = HealthCheck{Phase: 0}
	if sc := h.Script(10 * time.Second); sc.Operating[1].After != 10*time.Second || sc.Operating[2].After != 50*time.Second {
		t.Fatalf("CAPO's monitor: %v, want ONLINE at 10s and ERROR at 50s", sc.Operating)
	}
}
