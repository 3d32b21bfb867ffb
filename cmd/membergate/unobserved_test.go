package main

import (
	"encoding/json"
	"github.com/membergate/membergate/internal/waitreport"
	"os"
	"path/filepath"
	"testing"
)

// TestWaitReportsOnlyWhatItObserved: a wait that fails before it looks at
// any member (a malformed clouds.yaml, an unreachable Octavia) says why on
// stderr and prints no summary: "failed: 0 members of load balancer not
// serving" or a row per selector would describe members nobody looked at.
func TestWaitReportsOnlyWhatItObserved(t *testing.T) {
	malformed := filepath.Join(t.TempDir(), "clouds.yaml")
	if err := os.WriteFile(malformed, []byte("clouds:\n  octavia: {auth_type: none\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		code     int
		stderr   string
		clouds   func(b *testBed) string
		selector []string
	}{
		{"malformed clouds.yaml, --all", exitUsage, "malformed clouds.yaml", func(*testBed) string { return malformed }, []string{"--all"}},
		{"malformed clouds.yaml, --member", exitUsage, "malformed clouds.yaml", func(*testBed) string { return malformed }, []string{"--member", "10.6.0.11"}},
		{"unreachable Octavia, --all", exitFailure, "connection refused", unreachable, []string{"--all"}},
		{"unreachable Octavia, --member", exitFailure, "connection refused", unreachable, []string{"--member", "10.6.0.11:6443"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newTestBed(t, true)
			args := append([]string{"wait", "--os-config-file", c.clouds(b), "--os-cloud", "octavia", "--loadbalancer", lbName}, c.selector...)
			code, stdout, stderr := b.run(args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, stdout, stderr)
			}
			contains(t, "stderr", stderr, c.stderr)
			if stdout != "" {
				t.Errorf("stdout has a summary of members never looked at:\n%s", stdout)
			}
			code, stdout, _ = b.run(append(args, "--output", "json")...)
			if code != c.code {
				t.Fatalf("json: exit %d, want %d", code, c.code)
			}
			var rep waitreport.Report
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
				t.Fatalf("json: stdout is not the report: %v\n%s", err, stdout)
			}
			if rep.Error == nil || len(rep.Members) != 0 {
				t.Errorf("json: error %v, members %+v; want the error and no member", rep.Error, rep.Members)
			}
		})
	}
}

// unreachable points the bed's cloud at an Octavia that is gone.
func unreachable(b *testBed) string {
	b.srv.Close()
	return b.clouds
}
