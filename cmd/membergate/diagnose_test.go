package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
	"github.com/membergate/membergate/pkg/neutrontest"
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
