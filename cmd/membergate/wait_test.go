package main

import (
	"context"
	"encoding/json"
	"github.com/membergate/membergate/internal/waitreport"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
)

const newMemberName = lbName + "-6443-demo-control-plane-new1"

func TestWaitServingExitsZero(t *testing.T) {
	b := newTestBed(t, true)
	id := b.addMember(newMemberName, "10.6.0.13", amphorav2(3*time.Second, 8*time.Second))

	code, stdout, stderr := b.wait("--member", "10.6.0.13:6443", "--settle", "10s")
	if code != exitReached {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	contains(t, "stdout", stdout, "reached: 1 member of load balancer "+lbName, id[:8], "ACTIVE/ONLINE")
	// Progress goes to stderr when stdout is not a terminal: a line per change.
	contains(t, "progress", stderr, "PENDING_CREATE/OFFLINE", "ACTIVE/OFFLINE", "ACTIVE/ONLINE", "reached: ", newMemberName, "10.6.0.13:6443")
	if n := strings.Count(stderr, "PENDING_CREATE/OFFLINE"); n != 1 {
		t.Errorf("PENDING_CREATE/OFFLINE printed %d times, want once per change:\n%s", n, stderr)
	}
}

func TestWaitJSONReport(t *testing.T) {
	b := newTestBed(t, true)
	id := b.addMember(newMemberName, "10.6.0.13", amphorav2(3*time.Second, 5*time.Second))

	code, stdout, stderr := b.wait("--member", newMemberName, "--settle", "10s", "--output", "json")
	if code != exitReached {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if stderr != "" {
		t.Errorf("json mode wrote to stderr: %s", stderr)
	}
	var rep struct {
		LoadBalancer struct{ ID, Name string }
		Target       string
		Outcome      string
		Members      []map[string]any
		Error        *string
		Elapsed      float64 `json:"elapsedSeconds"`
		Requests     int
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s", err, stdout)
	}
	if rep.LoadBalancer.ID != b.seeded.LoadBalancerID || rep.LoadBalancer.Name != lbName ||
		rep.Target != "serving" || rep.Outcome != "reached" || rep.Error != nil || len(rep.Members) != 1 {
		t.Errorf("report = %+v", rep)
	}
	m := rep.Members[0]
	for k, want := range map[string]any{"id": id, "name": newMemberName, "address": "10.6.0.13", "protocolPort": 6443.0,
		"poolID": b.poolID(), "provisioningStatus": "ACTIVE", "operatingStatus": "ONLINE", "outcome": "reached"} {
		if m[k] != want {
			t.Errorf("member %s = %v, want %v", k, m[k], want)
		}
	}
	for _, k := range []string{"since", "reason"} {
		if _, ok := m[k]; !ok {
			t.Errorf("member has no %q", k)
		}
	}
	// ONLINE from 5 s, then held for the 10 s settle window: at least 15 s
	// of the fake clock, and a handful of polls, one request each.
	if rep.Elapsed < 15 || rep.Elapsed > 30 {
		t.Errorf("elapsedSeconds = %v, want 15-30", rep.Elapsed)
	}
	polls := b.srv.RequestCount(octaviatest.OpGetLoadBalancerStatus)
	if want := polls + 1; rep.Requests != want { // + the name lookup
		t.Errorf("requests = %d, want %d (status tree polls + 1 lookup)", rep.Requests, want)
	}
}

func TestWaitMemberErrorExitsThree(t *testing.T) {
	b := newTestBed(t, true)
	b.addMember(newMemberName, "10.6.0.13", octaviatest.MemberScript{
		Provisioning: []octaviatest.Step{{Status: "PENDING_CREATE"}, {After: 4 * time.Second, Status: "ERROR"}},
	})
	code, stdout, stderr := b.wait("--member", "10.6.0.13")
	if code != exitMemberError {
		t.Fatalf("exit %d, want 3\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	contains(t, "stdout", stdout, "member_error:", "ERROR/OFFLINE")
	contains(t, "stderr", stderr, "Octavia failed to provision it")
}

func TestWaitTimeoutExitsFour(t *testing.T) {
	b := newTestBed(t, true)
	b.addMember(newMemberName, "10.6.0.13", octaviatest.MemberScript{
		Provisioning: []octaviatest.Step{{Status: "PENDING_CREATE"}}, // stuck
	})
	code, stdout, stderr := b.wait("--member", "10.6.0.13:6443", "--timeout", "30s", "--output", "json")
	if code != exitTimeout {
		t.Fatalf("exit %d, want 4\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var rep waitreport.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Outcome != "timeout" || rep.Error == nil || !strings.Contains(*rep.Error, "PENDING_CREATE") ||
		len(rep.Members) != 1 || rep.Members[0].Outcome != "timeout" {
		t.Errorf("report = %+v", rep)
	}
	if rep.ElapsedSeconds < 30 || rep.ElapsedSeconds > 31 {
		t.Errorf("elapsedSeconds = %v, want 30", rep.ElapsedSeconds)
	}
}

func TestWaitUnknownLoadBalancerExitsFive(t *testing.T) {
	b := newTestBed(t, true)
	code, _, stderr := runPlain(t, "wait", "--os-config-file", b.clouds, "--os-cloud", "octavia",
		"--loadbalancer", "no-such-lb", "--member", "10.6.0.11")
	if code != exitNotFound {
		t.Fatalf("exit %d, want 5\n%s", code, stderr)
	}
	contains(t, "stderr", stderr, `load balancer "no-such-lb" not found`)
}

func TestWaitMissingMemberExitsFive(t *testing.T) {
	b := newTestBed(t, true)
	code, stdout, stderr := b.wait("--member", "10.6.0.99:6443", "--not-found-grace", "5s")
	if code != exitNotFound {
		t.Fatalf("exit %d, want 5\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	contains(t, "stderr", stderr, "member 10.6.0.99:6443 not found")
}

func TestWaitNoMonitorFailsUnderFail(t *testing.T) {
	b := newTestBed(t, false)
	code, _, stderr := b.wait("--member", "10.6.0.11")
	if code != exitFailure {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	contains(t, "stderr", stderr, "no health monitor")

	code, _, stderr = b.wait("--member", "10.6.0.11", "--no-monitor", "serving", "--settle", "2s")
	if code != exitReached {
		t.Fatalf("--no-monitor serving: exit %d, want 0\n%s", code, stderr)
	}
}

func TestWaitAllMembersThroughKeystone(t *testing.T) {
	b := newTestBed(t, true)
	code, stdout, stderr := b.run("wait", "--os-config-file", b.clouds, "--os-cloud", "keystone",
		"--loadbalancer", b.seeded.LoadBalancerID, "--all", "--settle", "5s", "--output", "json")
	if code != exitReached {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var rep waitreport.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, m := range rep.Members {
		got[m.ID] = m.Outcome == "reached"
	}
	for _, id := range b.seeded.MemberIDs[0] {
		if !got[id] {
			t.Errorf("member %s not reached in %+v", id, rep.Members)
		}
	}
	if len(rep.Members) != 2 {
		t.Errorf("%d members, want the 2 seeded", len(rep.Members))
	}
	if n := b.srv.RequestCount(octaviatest.OpCreateToken); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
}

func TestWaitSelectsByAddressPortNameAndPool(t *testing.T) {
	b := newTestBed(t, true)
	code, stdout, stderr := b.wait("--pool", poolName, "--member", "10.6.0.11:6443",
		"--member", lbName+"-6443-demo-control-plane-old2", "--for", "provisioned", "--output", "json")
	if code != exitReached {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var rep waitreport.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Members) != 2 || rep.Members[0].ID != b.seeded.MemberIDs[0][0] || rep.Members[1].ID != b.seeded.MemberIDs[0][1] {
		t.Errorf("members = %+v, want the seeded ones in order", rep.Members)
	}
	for _, m := range rep.Members {
		if m.PoolID != b.poolID() {
			t.Errorf("member %s in pool %s, want %s", m.ID, m.PoolID, b.poolID())
		}
	}
	// One poll covers both members.
	if n := b.srv.RequestCount(octaviatest.OpGetLoadBalancerStatus); n != 1 {
		t.Errorf("%d status requests for two members that are already there, want 1", n)
	}
}

func TestWaitAmbiguousLoadBalancerNameExitsOne(t *testing.T) {
	b := newTestBed(t, true)
	b.srv.Seed(octaviatest.LoadBalancerSpec{Name: lbName})
	code, _, stderr := runPlain(t, "wait", "--os-config-file", b.clouds, "--os-cloud", "octavia", "--loadbalancer", lbName, "--all")
	if code != exitFailure {
		t.Fatalf("exit %d for two load balancers of one name, want 1\n%s", code, stderr)
	}
	contains(t, "stderr", stderr, "ambiguous", b.seeded.LoadBalancerID)
}

func TestWaitUsageErrorsExitTwo(t *testing.T) {
	for name, args := range map[string][]string{
		"unknown flag":        {"wait", "--bogus"},
		"no load balancer":    {"wait", "--member", "10.0.0.1"},
		"no members":          {"wait", "--loadbalancer", "x"},
		"all and member":      {"wait", "--loadbalancer", "x", "--all", "--member", "10.0.0.1"},
		"bad target":          {"wait", "--loadbalancer", "x", "--all", "--for", "ready"},
		"bad no-monitor":      {"wait", "--loadbalancer", "x", "--all", "--no-monitor", "maybe"},
		"bad output":          {"wait", "--loadbalancer", "x", "--all", "--output", "yaml"},
		"bad source":          {"wait", "--loadbalancer", "x", "--all", "--source", "nova"},
		"negative timeout":    {"wait", "--loadbalancer", "x", "--all", "--timeout", "-1s"},
		"bad port":            {"wait", "--loadbalancer", "x", "--member", "10.0.0.1:99999"},
		"positional argument": {"wait", "--loadbalancer", "x", "--all", "extra"},
		"unknown command":     {"frobnicate"},
		"no command":          {},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, stderr := runPlain(t, args...)
			if code != exitUsage {
				t.Errorf("exit %d, want 2\n%s", code, stderr)
			}
			if stderr == "" {
				t.Error("nothing on stderr")
			}
		})
	}
}

func TestWaitMalformedCloudsYAMLExitsTwo(t *testing.T) {
	cleanEnv(t)
	path := filepath.Join(t.TempDir(), "clouds.yaml")
	if err := os.WriteFile(path, []byte("clouds:\n  octavia: {auth_type: none\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runPlain(t, "wait", "--os-config-file", path, "--os-cloud", "octavia", "--loadbalancer", "x", "--all")
	if code != exitUsage {
		t.Fatalf("exit %d, want 2\n%s", code, stderr)
	}
	contains(t, "stderr", stderr, "malformed clouds.yaml", path)

	code, _, stderr = runPlain(t, "wait", "--os-config-file", path, "--os-cloud", "octavia", "--loadbalancer", "x", "--all", "--output", "json")
	if code != exitUsage {
		t.Fatalf("json: exit %d, want 2\n%s", code, stderr)
	}
}

func TestWaitUnknownCloudExitsTwo(t *testing.T) {
	b := newTestBed(t, true)
	code, _, stderr := runPlain(t, "wait", "--os-config-file", b.clouds, "--os-cloud", "prod", "--loadbalancer", "x", "--all")
	if code != exitUsage {
		t.Fatalf("exit %d, want 2\n%s", code, stderr)
	}
	contains(t, "stderr", stderr, `cloud "prod" not found`, "keystone, octavia")
}

func TestWaitGoneThroughPoolMembers(t *testing.T) {
	b := newTestBed(t, true)
	old := b.seeded.MemberIDs[0][0]
	if err := pools.DeleteMember(context.Background(), b.sc, b.poolID(), old).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := b.wait("--member", old, "--for", "gone", "--source", "pool-members")
	if code != exitReached {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if n := b.srv.RequestCount(octaviatest.OpGetLoadBalancerStatus); n != 0 {
		t.Errorf("pool-members source read the status tree %d times", n)
	}
	if b.srv.RequestCount(octaviatest.OpListMembers) == 0 {
		t.Error("pool-members source never listed the pool's members")
	}
}
