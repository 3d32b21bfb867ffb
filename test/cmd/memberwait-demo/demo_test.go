package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func runDemo(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func contains(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, s)
		}
	}
}

// The demo runs on a clock scaled from real time, so these tests run it at a
// modest speed: at 1000× a loaded machine's real HTTP latency is whole
// virtual seconds and the LB-only waiter misses the moment it is about.
func TestDemoRunsToCompletion(t *testing.T) {
	code, stdout, stderr := runDemo(t, "--speed", "20")
	if code != exitReached {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	contains(t, "demo output", stdout,
		"load balancer "+demoLBName,
		"POST member",
		"CAPO would go on now; the new member is PENDING_CREATE",
		"ACTIVE/OFFLINE",
		"ACTIVE/ONLINE",
		"returned: the member serves",
		"summary",
		"memberwait returned",
	)
	if !regexp.MustCompile(`LB ACTIVE at t=[0-9.]+s`).MatchString(stdout) {
		t.Errorf("no LB ACTIVE line:\n%s", stdout)
	}
}

func TestDemoJSON(t *testing.T) {
	code, stdout, stderr := runDemo(t, "--speed", "20", "--output", "json")
	if code != exitReached {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var rep demoReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	tl := rep.Timeline
	if rep.Outcome != "reached" || tl.LoadBalancerActive == nil || tl.MemberActive == nil || tl.MemberOnline == nil || tl.MemberwaitReturned == nil {
		t.Fatalf("report = %+v", rep)
	}
	// The ordering the demo is about, whatever the polling granularity.
	if !(*tl.LoadBalancerActive < *tl.MemberActive && *tl.MemberActive <= *tl.MemberOnline && *tl.MemberOnline < *tl.MemberwaitReturned) {
		t.Errorf("timeline out of order: %+v", tl)
	}
	if tl.MemberStatusAtLoadBalancerActive != "PENDING_CREATE" {
		t.Errorf("member at LB ACTIVE = %q, want PENDING_CREATE", tl.MemberStatusAtLoadBalancerActive)
	}
	if *tl.MemberActive < 20 || *tl.MemberOnline < 30 || *tl.MemberwaitReturned < *tl.MemberOnline+45-0.05 { // tenths, and float sums
		t.Errorf("memberwait saw things before they happened: %+v", tl)
	}
	if rep.Requests.Memberwait == 0 || len(rep.Events) == 0 {
		t.Errorf("requests %+v, %d events", rep.Requests, len(rep.Events))
	}
}

func TestDemoBadSpeed(t *testing.T) {
	if code, _, _ := runDemo(t, "--speed", "0"); code != exitUsage {
		t.Errorf("exit %d for --speed 0, want 2", code)
	}
}
