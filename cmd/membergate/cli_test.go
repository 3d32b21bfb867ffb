package main

import (
	"bytes"
	"context"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/membergate/membergate/pkg/memberwait"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
	"github.com/spf13/cobra"
)

func TestHelp(t *testing.T) {
	waitHelp := []string{"Usage:\n  membergate wait --loadbalancer ID|NAME (--member SELECTOR... | --all) [flags]",
		"--loadbalancer ID|NAME", "--member SELECTOR", "--pool ID|NAME", "--all", "--for provisioned|serving|gone", "(default serving)",
		"--timeout duration", "(default 10m0s)", "--settle auto|duration", "(default auto)", "--heartbeat duration", "--no-monitor fail|serving|wait", "(default fail)",
		"--not-found-grace duration", "(default 10s)", "--source status-tree|pool-members", "(default status-tree)",
		"--os-cloud CLOUD", "(default $OS_CLOUD)", "--os-config-file FILE", "--endpoint URL", "--output text|json", "(default text)",
		"-h, --help", "Examples:", "Exit codes:", "3  member ERROR", "4  timeout", "5  not found"}
	for _, args := range [][]string{{"wait", "--help"}, {"wait", "-h"}, {"help", "wait"}, {"wait", "-help"}, {"wait", "--loadbalancer", "x", "-h"}} {
		code, stdout, stderr := runPlain(t, args...)
		if code != exitReached || stderr != "" {
			t.Errorf("%v: exit %d, stderr %q; want 0 and nothing", args, code, stderr)
		}
		contains(t, strings.Join(args, " "), stdout, waitHelp...)
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}, {"-help"}} {
		code, stdout, _ := runPlain(t, args...)
		if code != exitReached {
			t.Errorf("%v: exit %d, want 0", args, code)
		}
		contains(t, strings.Join(args, " "), stdout, "Usage:\n  membergate [command]", "wait", "diagnose", "version", "completion", "Exit codes:")
		if strings.Contains(stdout, "demo") {
			t.Errorf("%v lists a demo command; the demo is test code, not part of the CLI:\n%s", args, stdout)
		}
	}
	code, stdout, _ := runPlain(t, "diagnose", "--help")
	if code != exitReached {
		t.Errorf("diagnose --help: exit %d", code)
	}
	contains(t, "diagnose --help", stdout, "membergate diagnose --loadbalancer ID|NAME [--fix [--wait]] [flags]", "--fix", "--wait", "--network-endpoint URL",
		"6  some member's security groups lack a rule")
}

func TestNoCommandIsAUsageError(t *testing.T) {
	code, stdout, stderr := runPlain(t)
	if code != exitUsage || stdout != "" {
		t.Errorf("exit %d, stdout %q; want 2 and nothing on stdout", code, stdout)
	}
	contains(t, "stderr", stderr, "Usage:", "wait", "diagnose", "Exit codes:")

	code, _, stderr = runPlain(t, "wiat")
	if code != exitUsage {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
	contains(t, "stderr", stderr, `membergate: unknown command "wiat"`, "wait", `Run "membergate --help" for usage.`)
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-v"}} {
		code, stdout, _ := runPlain(t, args...)
		if code != exitReached || !strings.HasPrefix(stdout, "membergate "+version+" ") || strings.Count(stdout, "\n") != 1 {
			t.Errorf("%v: exit %d, %q; want one line", args, code, stdout)
		}
	}
	if code, _, stderr := runPlain(t, "version", "extra"); code != exitUsage || !strings.Contains(stderr, "no arguments") {
		t.Errorf("version extra: exit %d, %q", code, stderr)
	}
}

func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{"bash": "# bash completion V2 for membergate", "zsh": "#compdef membergate",
		"fish": "# fish completion for membergate", "powershell": "# powershell completion for membergate"} {
		code, stdout, stderr := runPlain(t, "completion", shell)
		if code != exitReached || !strings.HasPrefix(stdout, want) {
			t.Errorf("completion %s: exit %d, stdout starts %.60q, stderr %q", shell, code, stdout, stderr)
		}
	}
	// What the shell scripts ask for: "membergate __complete ARGS... PREFIX".
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{""}, []string{"wait\t", "diagnose\t", "version\t", "completion\t"}},
		{[]string{"wait", "--for", ""}, []string{"provisioned", "serving", "gone"}},
		{[]string{"wait", "--output", ""}, []string{"text", "json"}},
		{[]string{"wait", "--no-monitor", ""}, []string{"fail", "serving", "wait"}},
		{[]string{"wait", "--source", "p"}, []string{"pool-members"}},
		{[]string{"wait", "--o"}, []string{"--os-cloud\t", "--os-config-file\t", "--output\t"}},
		{[]string{"diagnose", "--f"}, []string{"--fix\t"}},
	} {
		code, stdout, _ := runPlain(t, append([]string{cobra.ShellCompRequestCmd}, c.args...)...)
		if code != exitReached {
			t.Errorf("complete %q: exit %d", c.args, code)
		}
		contains(t, "completions of "+strings.Join(c.args, " "), stdout, c.want...)
	}
}

// parseWait parses a wait command line as run does, without running it.
func parseWait(t *testing.T, args ...string) (*waitConfig, error) {
	t.Helper()
	c := newCLI(&bytes.Buffer{}, &bytes.Buffer{}, nil)
	root := c.newRoot()
	args = goFlagSpelling(root, append([]string{"wait"}, args...))
	cfg := &waitConfig{}
	cmd := &cobra.Command{Use: "wait"}
	c.addWaitFlags(cmd, cfg)
	if err := cmd.ParseFlags(args[1:]); err != nil {
		return nil, err
	}
	return cfg, cfg.check()
}

// Every spelling users of pflag, and of Go's flag package, which membergate
// used to parse with, write for the same command line means the same.
func TestFlagSpellings(t *testing.T) {
	want := &waitConfig{loadBalancer: "kubeapi", members: []memberwait.Selector{{Address: "10.0.0.5", ProtocolPort: 6443}, {Name: "cp-1"}},
		target: memberwait.Gone, timeout: time.Minute, settleAuto: true, heartbeat: memberwait.DefaultHeartbeat, notFoundGrace: memberwait.DefaultNotFoundGrace,
		noMonitor: memberwait.NoMonitorWait, source: "status-tree", output: "json", json: true}
	for _, args := range [][]string{
		{"--loadbalancer", "kubeapi", "--member", "10.0.0.5:6443", "--member", "cp-1", "--for", "gone", "--timeout", "1m", "--no-monitor", "wait", "--output", "json"},
		{"--loadbalancer=kubeapi", "--member=10.0.0.5:6443", "--member=cp-1", "--for=gone", "--timeout=1m", "--no-monitor=wait", "--output=json"},
		{"-loadbalancer", "kubeapi", "-member=10.0.0.5:6443", "-member", "cp-1", "-for", "Gone", "-timeout=1m", "-no-monitor", "WAIT", "-output", "json"},
		// A selector given twice counts once.
		{"--member", "10.0.0.5:6443", "--loadbalancer", "kubeapi", "--member", "cp-1", "--member", "10.0.0.5:6443", "--for", "gone", "--timeout", "1m", "--no-monitor", "wait", "--output", "json"},
	} {
		got, err := parseWait(t, args...)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%q:\n got %+v, %v\nwant %+v", args, got, err, want)
		}
	}
	// A value is never taken for a flag, however it is spelled.
	got, err := parseWait(t, "--loadbalancer", "-all", "--member", "-pool")
	if err != nil || got.loadBalancer != "-all" || got.all || len(got.members) != 1 || got.members[0].Name != "-pool" {
		t.Errorf("values that look like flags: %+v, %v", got, err)
	}
	// Nothing after "--" is rewritten.
	if args := goFlagSpelling(&cobra.Command{}, []string{"wait", "--", "-all"}); args[2] != "-all" {
		t.Errorf("after --: %q", args)
	}
}

// A flag's value that does not parse names the flag, exits 2 and points to
// the command's help.
func TestFlagErrorsNameTheFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		flag string
	}{
		{[]string{"wait", "--loadbalancer", "x", "--all", "--output", "yaml"}, `"--output" flag: want text or json`},
		{[]string{"wait", "--loadbalancer", "x", "--all", "--for=ready"}, `"--for" flag: unknown target "ready"`},
		{[]string{"wait", "--loadbalancer", "x", "--all", "--no-monitor", "maybe"}, `"--no-monitor" flag`},
		{[]string{"wait", "--loadbalancer", "x", "--all", "--source", "nova"}, `"--source" flag: want status-tree or pool-members`},
		{[]string{"wait", "--loadbalancer", "x", "--all", "--timeout", "-1s"}, `"--timeout" flag: must not be negative`},
		{[]string{"wait", "--loadbalancer", "x", "--all", "--settle", "soon"}, `"--settle" flag: want auto or a duration`},
		{[]string{"wait", "--loadbalancer", "x", "--all", "--settle", "-5s"}, `"--settle" flag: want auto or a duration: must not be negative`},
		{[]string{"wait", "--loadbalancer", "x", "--member", "10.0.0.1:99999"}, `"--member" flag: port "99999": want 1-65535`},
		{[]string{"wait", "--loadbalancer"}, "--loadbalancer"},
		{[]string{"wait", "--bogus"}, "--bogus"},
		{[]string{"wait", "--member", "10.0.0.1"}, "--loadbalancer is required"},
		{[]string{"wait", "--loadbalancer", "x", "--all", "--member", "10.0.0.1"}, "--all and --member"},
		{[]string{"diagnose", "--output", "yaml"}, `"--output" flag: want text or json`},
		{[]string{"diagnose"}, "--loadbalancer is required"},
	} {
		code, stdout, stderr := runPlain(t, c.args...)
		if code != exitUsage || stdout != "" {
			t.Errorf("%q: exit %d, stdout %q; want 2 and nothing on stdout", c.args, code, stdout)
		}
		contains(t, strings.Join(c.args, " "), stderr, "membergate: "+c.args[0]+": ", c.flag, `Run "membergate `+c.args[0]+` --help" for usage.`)
	}
}

// Without --os-cloud, OS_CLOUD names the cloud, as in every OpenStack tool;
// the flag wins over it.
func TestOSCloudFromEnvironment(t *testing.T) {
	b := newTestBed(t, true)
	b.env = func(k string) string {
		if k == "OS_CLOUD" {
			return "octavia"
		}
		return ""
	}
	code, stdout, stderr := b.run("wait", "--os-config-file", b.clouds, "--loadbalancer", lbName, "--all", "--for", "provisioned")
	if code != exitReached {
		t.Fatalf("OS_CLOUD=octavia: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, _, stderr = b.run("wait", "--os-config-file", b.clouds, "--os-cloud", "prod", "--loadbalancer", lbName, "--all")
	if code != exitUsage || !strings.Contains(stderr, `cloud "prod" not found`) {
		t.Errorf("--os-cloud prod over OS_CLOUD=octavia: exit %d\n%s", code, stderr)
	}
}

// An interrupted wait still reports where every member got to, and exits 1.
func TestInterruptedWaitReports(t *testing.T) {
	b := newTestBed(t, true)
	b.addMember(newMemberName, "10.6.0.13", amphorav2(time.Hour, time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	b.ctx = ctx
	go func() {
		for b.srv.RequestCount(octaviatest.OpGetLoadBalancerStatus) < 2 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	code, stdout, stderr := b.wait("--member", "10.6.0.13:6443")
	if code != exitFailure {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	contains(t, "stdout", stdout, "PENDING_CREATE/OFFLINE")
	contains(t, "stderr", stderr, "context canceled")
}

// docs/cli.md shows the help of wait, diagnose and status as they print it.
func TestDocsShowTheHelp(t *testing.T) {
	doc, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"wait", "diagnose", "status"} {
		_, help, _ := runPlain(t, cmd, "--help")
		if !strings.Contains(string(doc), "```\n"+help+"```\n") {
			t.Errorf("docs/cli.md does not show what \"membergate %s --help\" prints:\n%s", cmd, help)
		}
	}
}

// --settle takes auto (the default) or a duration, which fixes the window;
// 0 means none.
func TestSettleFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want memberwait.Options
	}{
		{nil, memberwait.Options{Settle: memberwait.SettleAuto, Heartbeat: memberwait.DefaultHeartbeat}},
		{[]string{"--settle", "AUTO", "--heartbeat", "5s"}, memberwait.Options{Settle: memberwait.SettleAuto, Heartbeat: 5 * time.Second}},
		{[]string{"--settle=90s"}, memberwait.Options{SettleWindow: 90 * time.Second, Heartbeat: memberwait.DefaultHeartbeat}},
		{[]string{"--settle", "0"}, memberwait.Options{SettleWindow: -1, Heartbeat: memberwait.DefaultHeartbeat}},
		{[]string{"--settle", "1m", "--settle", "auto"}, memberwait.Options{Settle: memberwait.SettleAuto, Heartbeat: memberwait.DefaultHeartbeat}},
	} {
		cfg, err := parseWait(t, append([]string{"--loadbalancer", "x", "--all"}, c.args...)...)
		if err != nil {
			t.Fatalf("%q: %v", c.args, err)
		}
		o := cfg.memberwaitOptions()
		if o.Settle != c.want.Settle || o.SettleWindow != c.want.SettleWindow || o.Heartbeat != c.want.Heartbeat {
			t.Errorf("%q: settle %s, window %s, heartbeat %s; want %s, %s, %s", c.args, o.Settle, o.SettleWindow, o.Heartbeat,
				c.want.Settle, c.want.SettleWindow, c.want.Heartbeat)
		}
	}
}
