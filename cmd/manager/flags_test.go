package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/membergate/membergate/extension"
	"github.com/membergate/membergate/pkg/gate"
)

func TestParseDefaults(t *testing.T) {
	g := NewWithT(t)
	o, err := parse(nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(o.leaderElect).To(BeTrue())
	g.Expect(o.webhookPort).To(Equal(9443))
	g.Expect(o.extensionPort).To(Equal(extension.DefaultPort))
	g.Expect(o.parsedHooks).To(Equal(extension.AllHooks))
	g.Expect(o.maxObservationAge).To(Equal(gate.DefaultMaxObservationAge))
	g.Expect(o.idleResync).To(Equal(gate.DefaultIdleResync))
	// An idle cluster's observation is answered from until its next look.
	g.Expect(o.maxObservationAge).To(BeNumerically(">", gate.LongestIdle(o.idleResync)))
	g.Expect(o.syncPeriod).To(Equal(10 * time.Minute))
}

func TestParseRefusesWhatCannotWork(t *testing.T) {
	for want, args := range map[string][]string{
		"unknown hook":                  {"--extension-hooks=BeforeClusterUpgrade,BeforeClusterDelete"},
		"are both 9443":                 {"--extension-port=9443"},
		"at least 6m30s":                {"--extension-max-observation-age=2m"},
		"from 30s to 1h":                {"--idle-resync=10s"},
		"not a label selector":          {"--cluster-selector=shard in (a"},
		"flag provided but not defined": {"--no-such-flag"},
		"unexpected arguments":          {"stray"},
	} {
		t.Run(want, func(t *testing.T) {
			g := NewWithT(t)
			_, err := parse(args)
			g.Expect(err).To(MatchError(ContainSubstring(want)))
		})
	}
	g := NewWithT(t)
	o, err := parse([]string{"--enable-extension=false", "--extension-hooks=nonsense"})
	g.Expect(err).NotTo(HaveOccurred(), "the hooks of a disabled extension are not read")
	g.Expect(o.enableExtension).To(BeFalse())
	o, err = parse([]string{"--extension-hooks=BeforeClusterUpgrade,AfterControlPlaneUpgrade"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(o.parsedHooks).To(Equal([]gate.Hook{gate.BeforeClusterUpgrade, gate.AfterControlPlaneUpgrade}))
}

// TestInstallDocListsEveryFlag: docs/install.md documents every flag.
func TestInstallDocListsEveryFlag(t *testing.T) {
	g := NewWithT(t)
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "install.md"))
	g.Expect(err).NotTo(HaveOccurred())
	flagSet(&options{}).VisitAll(func(f *flag.Flag) {
		g.Expect(string(doc)).To(ContainSubstring("`--"+f.Name), "docs/install.md does not document --%s", f.Name)
	})
}

// TestParseRefusesNonsensicalValues: every flag whose value could never
// work — or that a library would silently replace with something else — is
// refused at start with a message naming the flag and what it accepts.
func TestParseRefusesNonsensicalValues(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string // substrings of the error
	}{
		// A budget that never allows a request holds every rollout forever.
		{[]string{"--octavia-qps=0"}, []string{"--octavia-qps", "positive"}},
		{[]string{"--octavia-qps=-1"}, []string{"--octavia-qps", "positive"}},
		{[]string{"--octavia-qps=NaN"}, []string{"--octavia-qps", "positive"}},
		{[]string{"--octavia-qps=+Inf"}, []string{"--octavia-qps", "finite"}},
		{[]string{"--octavia-burst=0"}, []string{"--octavia-burst", "at least 1"}},
		{[]string{"--octavia-qps-per-identity=-1"}, []string{"--octavia-qps-per-identity", "positive"}},
		{[]string{"--octavia-qps-per-identity=6"}, []string{"--octavia-qps-per-identity", "must not exceed --octavia-qps (5)"}},
		{[]string{"--octavia-burst-per-identity=-1"}, []string{"--octavia-burst-per-identity", "at least 1"}},
		{[]string{"--octavia-burst-per-identity=11"}, []string{"--octavia-burst-per-identity", "must not exceed --octavia-burst (10)"}},
		{[]string{"--concurrency=0"}, []string{"--concurrency", "from 1 to 64"}},
		{[]string{"--management-cluster-id=a b"}, []string{"--management-cluster-id", "without spaces"}},
		{[]string{"--management-cluster-id=a@b"}, []string{"--management-cluster-id", "'@'"}},
		{[]string{"--min-source-prefix-v4=0"}, []string{"--min-source-prefix-v4", "from 1 to 32", "allowAnywhere"}},
		{[]string{"--min-source-prefix-v4=33"}, []string{"--min-source-prefix-v4", "from 1 to 32"}},
		{[]string{"--min-source-prefix-v6=0"}, []string{"--min-source-prefix-v6", "from 1 to 128"}},
		{[]string{"--min-source-prefix-v6=129"}, []string{"--min-source-prefix-v6", "from 1 to 128"}},
		{[]string{"--octavia-burst=-3"}, []string{"--octavia-burst", "at least 1"}},
		// 0 turns the resync off, less than a second is raised to one.
		{[]string{"--sync-period=0s"}, []string{"--sync-period", "at least 1s"}},
		{[]string{"--sync-period=-10m"}, []string{"--sync-period", "at least 1s"}},
		{[]string{"--sync-period=100ms"}, []string{"--sync-period", "at least 1s"}},
		// Port 0 would be silently replaced by the library's default.
		{[]string{"--webhook-port=0"}, []string{"--webhook-port", "1 to 65535"}},
		{[]string{"--webhook-port=-1"}, []string{"--webhook-port", "1 to 65535"}},
		{[]string{"--webhook-port=65536"}, []string{"--webhook-port", "1 to 65535"}},
		{[]string{"--extension-port=0"}, []string{"--extension-port", "1 to 65535"}},
		{[]string{"--extension-port=70000"}, []string{"--extension-port", "1 to 65535"}},
		{[]string{"--webhook-cert-dir="}, []string{"--webhook-cert-dir", "must not be empty"}},
		{[]string{"--extension-cert-dir="}, []string{"--extension-cert-dir", "must not be empty"}},
		{[]string{"--extension-hooks="}, []string{"--extension-hooks", "no hook listed"}},
		{[]string{"--extension-max-observation-age=-1m"}, []string{"--extension-max-observation-age", "at least 6m30s"}},
		{[]string{"--idle-resync=30s", "--extension-max-observation-age=50s"}, []string{"--extension-max-observation-age", "at least 1m6s"}},
		{[]string{"--idle-resync=2h"}, []string{"--idle-resync", "30s to 1h"}},
		// "" would silently serve metrics on controller-runtime's :8080.
		{[]string{"--metrics-bind-address="}, []string{"--metrics-bind-address", `"0"`, "1 to 65535"}},
		{[]string{"--metrics-bind-address=:0"}, []string{"--metrics-bind-address", "1 to 65535"}},
		{[]string{"--metrics-bind-address=8443"}, []string{"--metrics-bind-address", "host:port"}},
		{[]string{"--health-probe-bind-address=:99999"}, []string{"--health-probe-bind-address", "1 to 65535"}},
		{[]string{"--health-probe-bind-address=localhost"}, []string{"--health-probe-bind-address", "host:port"}},
		{[]string{"--leader-elect-namespace=Membergate_System"}, []string{"--leader-elect-namespace", "namespace name"}},
		// Two servers on one port: the second never starts.
		{[]string{"--extension-port=9443"}, []string{"--webhook-port", "--extension-port", "both 9443"}},
		{[]string{"--metrics-bind-address=:9444"}, []string{"--metrics-bind-address", "--extension-port", "both 9444"}},
		{[]string{"--health-probe-bind-address=127.0.0.1:8443"}, []string{"--metrics-bind-address", "--health-probe-bind-address", "both 8443"}},
		// Every bad flag is named at once.
		{[]string{"--octavia-qps=0", "--octavia-burst=0"}, []string{"--octavia-qps", "--octavia-burst"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			g := NewWithT(t)
			_, err := parse(tc.args)
			g.Expect(err).To(HaveOccurred())
			for _, want := range tc.want {
				g.Expect(err.Error()).To(ContainSubstring(want))
			}
		})
	}
}

// TestParseAcceptsSensibleValues: the defaults, the bounds of every range,
// and the ways the docs give to turn a listener off.
func TestParseAcceptsSensibleValues(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"--octavia-qps=0.2", "--octavia-burst=1"},
		{"--octavia-qps=0.2", "--octavia-burst=1", "--octavia-qps-per-identity=0.2", "--octavia-burst-per-identity=1"},
		{"--sync-period=1s"},
		{"--min-source-prefix-v4=16", "--min-source-prefix-v6=48"},
		{"--webhook-port=1", "--extension-port=65535"},
		{"--idle-resync=30s", "--extension-max-observation-age=70s"},
		{"--idle-resync=1h", "--cluster-selector=shard=a,!excluded"},
		{"--metrics-bind-address=0", "--health-probe-bind-address=0"},
		{"--health-probe-bind-address="},
		{"--metrics-bind-address=127.0.0.1:9090", "--health-probe-bind-address=[::1]:8081"},
		{"--leader-elect-namespace=membergate-system"},
		// Different hosts may share a port.
		{"--webhook-host=10.0.0.1", "--extension-host=10.0.0.2", "--extension-port=9443"},
		// What a disabled server would use is not read.
		{"--enable-webhooks=false", "--webhook-port=0", "--webhook-cert-dir=", "--extension-port=9443"},
		{"--enable-extension=false", "--extension-port=0", "--extension-cert-dir=", "--extension-max-observation-age=0s"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			_, err := parse(args)
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
		})
	}
}

// One tenant's share defaults to half of the cloud's, whatever the cloud's.
func TestIdentityBudgetDefaultsToHalf(t *testing.T) {
	g := NewWithT(t)
	o, err := parse([]string{"--octavia-qps=1", "--octavia-burst=1"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(o.identityBudget).To(Equal(0.5))
	g.Expect(o.identityBurst).To(Equal(1))
	o, err = parse(nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(o.identityBudget).To(Equal(2.5))
	g.Expect(o.identityBurst).To(Equal(5))
}

// --watch-namespaces: empty watches every namespace; a list is trimmed and
// de-duplicated, in the order given; anything that is not a namespace name
// is refused, naming the entry and why.
func TestWatchNamespaces(t *testing.T) {
	g := NewWithT(t)
	o, err := parse(nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(o.namespaces).To(BeEmpty(), "every namespace by default")
	o, err = parse([]string{"--watch-namespaces=team-a, team-b,team-a"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(o.namespaces).To(Equal([]string{"team-a", "team-b"}))

	for value, want := range map[string]string{
		"Team-A":                `"Team-A" is not a namespace name`,
		"team_a":                `"team_a" is not a namespace name`,
		"team-a,,b":             "an empty entry",
		"team-a,":               "an empty entry",
		",":                     "an empty entry",
		"a/b":                   `"a/b" is not a namespace name`,
		strings.Repeat("n", 64): "is not a namespace name",
	} {
		t.Run(value, func(t *testing.T) {
			g := NewWithT(t)
			_, err := parse([]string{"--watch-namespaces=" + value})
			g.Expect(err).To(MatchError(ContainSubstring("--watch-namespaces=" + value + ": ")))
			g.Expect(err).To(MatchError(ContainSubstring(want)))
		})
	}
}
