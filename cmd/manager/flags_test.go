package main

import (
	"flag"
	"os"
	"path/filepath"
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
	g.Expect(o.syncPeriod).To(Equal(10 * time.Minute))
}

func TestParseRefusesWhatCannotWork(t *testing.T) {
	for want, args := range map[string][]string{
		"unknown hook":                  {"--extension-hooks=BeforeClusterUpgrade,BeforeClusterDelete"},
		"are both 9443":                 {"--extension-port=9443"},
		"must be positive":              {"--extension-max-observation-age=0s"},
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
