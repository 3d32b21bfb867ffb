package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
	"github.com/membergate/membergate/pkg/neutrontest"
	clocktesting "k8s.io/utils/clock/testing"
)

// diagnoseBed is an Octavia and a Neutron emulator with the default-group
// case: members ERROR because their ports sit on the project's default
// group, which admits only its own members.
func diagnoseBed(t *testing.T) (cloudsFile, group string, neutron *neutrontest.Server) {
	cleanEnv(t)
	neutron = neutrontest.NewServer()
	t.Cleanup(neutron.Close)
	octa := octaviatest.NewServer(octaviatest.Options{})
	t.Cleanup(octa.Close)
	_, subnets := neutron.AddNetwork("k8s-nodes", "10.6.0.0/24")
	group = neutron.DefaultGroup()
	neutron.AddPort("cp-0", subnets[0], "10.6.0.11", group)
	octa.Seed(octaviatest.LoadBalancerSpec{Name: "kubeapi", Listeners: []octaviatest.ListenerSpec{{Port: 6443, Pool: &octaviatest.PoolSpec{
		Name:    "kubeapi-6443",
		Monitor: &octaviatest.MonitorSpec{Type: "TCP", Delay: 10, Timeout: 5, MaxRetries: 5, MaxRetriesDown: 3},
		Members: []octaviatest.MemberSpec{{Name: "cp-0", Address: "10.6.0.11", ProtocolPort: 6443, SubnetID: subnets[0], OperatingStatus: "ERROR"}},
	}}}})
	cloudsFile = filepath.Join(t.TempDir(), "clouds.yaml")
	clouds := fmt.Sprintf("clouds:\n  testbed:\n    auth_type: none\n    auth:\n      project_id: %s\n    load_balancer_endpoint_override: %s\n    network_endpoint_override: %s\n",
		octaviatest.DefaultProjectID, octa.URL, neutron.URL)
	if err := os.WriteFile(cloudsFile, []byte(clouds), 0o600); err != nil {
		t.Fatal(err)
	}
	return cloudsFile, group, neutron
}

func TestDiagnoseDefaultGroupAndFix(t *testing.T) {
	clouds, group, neutron := diagnoseBed(t)
	code, stdout, stderr := runPlain(t, "diagnose", "--os-config-file", clouds, "--loadbalancer", "kubeapi")
	if code != exitMissingRules {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitMissingRules, stdout, stderr)
	}
	contains(t, "diagnose output", stdout, "kubeapi-6443", "cp-0", "10.6.0.11:6443", "ACTIVE/ERROR", "10.6.0.0/24", group[:8], "missing rule",
		"fix for 10.6.0.11: add to group "+group+": ingress tcp port 6443 from 10.6.0.0/24", "--fix")
	t.Logf("diagnose output:\n%s", stdout)

	code, stdout, stderr = runPlain(t, "diagnose", "--os-config-file", clouds, "--loadbalancer", "kubeapi", "--fix")
	if code != exitReached {
		t.Fatalf("--fix: exit %d\n%s\n%s", code, stdout, stderr)
	}
	contains(t, "--fix output", stdout, "added: group "+group+": ingress tcp port 6443 from 10.6.0.0/24")
	if n := neutron.Requests()["POST /v2.0/security-group-rules"]; n != 1 {
		t.Fatalf("%d rules created, want exactly 1", n)
	}

	code, stdout, _ = runPlain(t, "diagnose", "--os-config-file", clouds, "--loadbalancer", "kubeapi", "--output", "json")
	if code != exitReached {
		t.Fatalf("after the fix: exit %d\n%s", code, stdout)
	}
	var doc struct {
		Members []struct {
			Verdict string `json:"verdict"`
		} `json:"members"`
		Missing int `json:"missingRules"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil || doc.Missing != 0 || doc.Members[0].Verdict != "admitted" {
		t.Fatalf("JSON after the fix: %v %+v\n%s", err, doc, stdout)
	}
}

func TestDiagnoseUsageAndNotFound(t *testing.T) {
	clouds, _, _ := diagnoseBed(t)
	if code, _, _ := runPlain(t, "diagnose"); code != exitUsage {
		t.Fatalf("no --loadbalancer: exit %d, want 2", code)
	}
	if code, _, _ := runPlain(t, "diagnose", "--os-config-file", clouds, "--loadbalancer", "nope"); code != exitNotFound {
		t.Fatalf("unknown LB: exit %d, want 5", code)
	}
}

// recoveryBed is diagnoseBed on a fake clock, where the member's health
// checks pass a while after a rule admits them: the world as HAProxy sees
// it once the node's group lets its checks in.
type recoveryBed struct {
	*testBed
	neutron  *neutrontest.Server
	group    string
	memberID string
	fixedAt  time.Time
}

func newRecoveryBed(t *testing.T, recovery time.Duration, member octaviatest.MemberSpec) *recoveryBed {
	t.Helper()
	cleanEnv(t)
	clk := clocktesting.NewFakeClock(epoch)
	neutron := neutrontest.NewServer()
	t.Cleanup(neutron.Close)
	octa := octaviatest.NewServer(octaviatest.Options{Clock: clk})
	t.Cleanup(octa.Close)
	_, subnets := neutron.AddNetwork("k8s-nodes", "10.6.0.0/24")
	group := neutron.DefaultGroup()
	neutron.AddPort("cp-0", subnets[0], "10.6.0.11", group)
	member.Address, member.ProtocolPort, member.SubnetID = "10.6.0.11", 6443, subnets[0]
	seeded := octa.Seed(octaviatest.LoadBalancerSpec{Name: "kubeapi", Listeners: []octaviatest.ListenerSpec{{Port: 6443, Pool: &octaviatest.PoolSpec{
		Name:    "kubeapi-6443",
		Monitor: &octaviatest.MonitorSpec{Type: "TCP", Delay: 10, Timeout: 5, MaxRetries: 5, MaxRetriesDown: 3},
		Members: []octaviatest.MemberSpec{member},
	}}}})
	b := &recoveryBed{neutron: neutron, group: group, memberID: seeded.MemberIDs[0][0]}
	neutron.OnRuleCreated(func(neutrontest.Rule) {
		// Seeded members count their steps from the epoch.
		b.fixedAt = clk.Now()
		if member.OperatingStatus == "ERROR" {
			_ = octa.ScriptMember(b.memberID, octaviatest.MemberScript{Operating: []octaviatest.Step{
				{Status: "ERROR"}, {After: clk.Now().Sub(epoch) + recovery, Status: "ONLINE"}}})
		}
	})
	clouds := filepath.Join(t.TempDir(), "clouds.yaml")
	yaml := fmt.Sprintf("clouds:\n  testbed:\n    auth_type: none\n    auth:\n      project_id: %s\n    load_balancer_endpoint_override: %s\n    network_endpoint_override: %s\n",
		octaviatest.DefaultProjectID, octa.URL, neutron.URL)
	if err := os.WriteFile(clouds, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	b.testBed = &testBed{t: t, clk: clk, srv: octa, sc: octa.ServiceClient(), seeded: seeded, clouds: clouds}
	return b
}

func (b *recoveryBed) diagnose(args ...string) (int, string, string) {
	return b.run(append([]string{"diagnose", "--os-config-file", b.clouds, "--loadbalancer", "kubeapi"}, args...)...)
}

// --fix --wait closes the runbook: it adds the rule, then waits until the
// member serves and says how long recovery took.
func TestDiagnoseFixWaitReportsRecovery(t *testing.T) {
	b := newRecoveryBed(t, 25*time.Second, octaviatest.MemberSpec{Name: "cp-0", OperatingStatus: "ERROR"})
	code, stdout, stderr := b.diagnose("--fix", "--wait")
	if code != exitReached {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if b.fixedAt.IsZero() {
		t.Fatalf("no rule was added:\n%s", stdout)
	}
	// ONLINE 25 s after the fix, then the settle window (memberwait's
	// default for the pool); polls at most a backoff step apart.
	contains(t, "--fix --wait output", stdout, "added: group "+b.group, "recovered: 1 member serving", "cp-0 10.6.0.11:6443")
	// Progress goes to stderr when stdout is not a terminal.
	contains(t, "progress", stderr, "waiting for 1 member to serve", "ACTIVE/ERROR", "ACTIVE/ONLINE")
	online, serving := recoveryFigures(t, stdout)
	if online < 25*time.Second || online > 40*time.Second || serving <= online || serving > online+2*time.Minute {
		t.Errorf("recovery reported ONLINE after %s and serving after %s, want ONLINE about 25 s after the fix and serving a settle window later:\n%s", online, serving, stdout)
	}

	code, stdout, _ = b.diagnose("--fix", "--wait", "--output", "json")
	if code != exitReached {
		t.Fatalf("second run: exit %d\n%s", code, stdout)
	}
	var doc struct {
		Missing  int `json:"missingRules"`
		Recovery *struct {
			Members []struct {
				Address string `json:"address"`
			} `json:"members"`
		} `json:"recovery"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil || doc.Missing != 0 || doc.Recovery != nil {
		t.Fatalf("nothing to fix the second time: want no recovery wait, got %v %+v\n%s", err, doc, stdout)
	}
}

// A member whose checks still fail after the fix ends the wait at
// --timeout, with the wait's exit code and the member named.
func TestDiagnoseFixWaitTimesOut(t *testing.T) {
	b := newRecoveryBed(t, time.Hour, octaviatest.MemberSpec{Name: "cp-0", OperatingStatus: "ERROR"})
	code, stdout, stderr := b.diagnose("--fix", "--wait", "--timeout", "2m")
	if code != exitTimeout {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitTimeout, stdout, stderr)
	}
	contains(t, "output", stdout+stderr, "added: group "+b.group, "10.6.0.11", "ERROR")
}

// --wait needs --fix: without it nothing would change to wait for.
func TestDiagnoseWaitNeedsFix(t *testing.T) {
	b := newRecoveryBed(t, time.Second, octaviatest.MemberSpec{Name: "cp-0", OperatingStatus: "ERROR"})
	if code, _, stderr := b.diagnose("--wait"); code != exitUsage || !strings.Contains(stderr, "--fix") {
		t.Fatalf("--wait alone: exit %d, want %d naming --fix: %s", code, exitUsage, stderr)
	}
}

// recoveryFigures reads "ONLINE after D, serving after D" from the text.
func recoveryFigures(t *testing.T, out string) (online, serving time.Duration) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if _, rest, ok := strings.Cut(line, "ONLINE "); ok {
			var o, s string
			if _, err := fmt.Sscanf(rest, "%s after the fix, serving %s after it", &o, &s); err == nil {
				var err1, err2 error
				online, err1 = time.ParseDuration(strings.TrimSuffix(o, ","))
				serving, err2 = time.ParseDuration(strings.TrimSuffix(s, ","))
				if err1 == nil && err2 == nil {
					return online, serving
				}
			}
		}
	}
	t.Fatalf("no recovery figures in:\n%s", out)
	return 0, 0
}
