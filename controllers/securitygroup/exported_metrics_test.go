package securitygroup

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/yaml"
)

// The alerts (config/prometheus/rules.yaml) and the Grafana dashboard name
// only metrics the manager exports: a renamed metric would otherwise leave
// an alert that never fires and a panel that stays empty, and promtool's
// tests, on synthetic series, cannot tell. The names come from scraping the
// registry the manager serves, after both controllers reconciled a cluster
// whose members fail (so that the vectors have series): once called
// directly on a fake clock, then run by a manager as cmd/manager runs them.
func TestAlertsAndDashboardNameExportedMetrics(t *testing.T) {
	w := newWorld(t, options{machines: 2, cpGroups: []string{"default"}, operating: "ERROR"})
	w.run(3*time.Minute, func() bool { c := w.sgCondition(); return c != nil && c.Reason == ReasonMissingRule })
	exported := gathered(t)
	w.startManager()
	w.g.Eventually(func(g Gomega) {
		g.Expect(gatheredSeries(t, "controller_runtime_reconcile_total", map[string]string{"controller": "membergate"})).
			To(BeNumerically(">", 0))
		g.Expect(gatheredSeries(t, "controller_runtime_reconcile_total", map[string]string{"controller": "membergate-securitygroups"})).
			To(BeNumerically(">", 0))
	}, time.Minute, 100*time.Millisecond).Should(Succeed())
	for name := range gathered(t) {
		exported[name] = true
	}

	named := map[string][]string{} // metric name: where
	var rules struct {
		Groups []struct {
			Rules []struct{ Alert, Expr string }
		}
	}
	readInto(t, "../../config/prometheus/rules.yaml", func(b []byte, v any) error { return yaml.Unmarshal(b, v) }, &rules)
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			for _, n := range metricNames(r.Expr) {
				named[n] = append(named[n], "alert "+r.Alert)
			}
		}
	}
	var dashboard struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	readInto(t, "../../config/prometheus/dashboard.json", json.Unmarshal, &dashboard)
	for _, p := range dashboard.Panels {
		for _, tg := range p.Targets {
			for _, n := range metricNames(tg.Expr) {
				named[n] = append(named[n], "panel "+p.Title)
			}
		}
	}
	w.g.Expect(named).To(HaveKey("membergate_held_seconds"), "the rules were not parsed")
	w.g.Expect(named).To(HaveKey("controller_runtime_reconcile_time_seconds_bucket"), "the dashboard was not parsed")
	var missing []string
	for n, where := range named {
		if !exported[n] {
			missing = append(missing, n+" (in "+strings.Join(slices.Compact(where), ", ")+")")
		}
	}
	slices.Sort(missing)
	w.g.Expect(missing).To(BeEmpty(), "named by the rules or the dashboard, not exported by the manager")
}

// The names are read off PromQL as Prometheus' lexer would: not inside
// strings, label matchers or ranges, not a function or aggregation (an
// identifier followed by a parenthesis), not a keyword, not the label list
// of by/without/on/ignoring/group_*.
func TestMetricNamesOfAnExpression(t *testing.T) {
	g := NewWithT(t)
	g.Expect(metricNames(`sum by (code) (rate(foo_total{a="b",c=~"x|y"}[5m])) > 0.5
		and on (namespace) group_left (x) count(bar:ratio) unless absent(baz{q="{1}"}) or vector(1e3) * quux offset 1m`)).
		To(Equal([]string{"foo_total", "bar:ratio", "baz", "quux"}))
	g.Expect(metricNames(`histogram_quantile(0.99, sum by (le) (rate(h_bucket{c=~"$c"}[$__rate_interval])))`)).To(Equal([]string{"h_bucket"}))
}

var (
	promStrings  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	promMatchers = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]`)
	promOffsets  = regexp.MustCompile(`\boffset\s+-?[0-9a-z]+`)
	promLabels   = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promNumbers  = regexp.MustCompile(`\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b`)
	promIdent    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promKeywords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true, "inf": true, "nan": true}
)

func metricNames(expr string) []string {
	s := promStrings.ReplaceAllString(expr, `""`)
	s = promMatchers.ReplaceAllString(s, " ")
	s = promOffsets.ReplaceAllString(s, " ")
	s = promLabels.ReplaceAllString(s, " ")
	s = promNumbers.ReplaceAllString(s, " ")
	var names []string
	for _, loc := range promIdent.FindAllStringIndex(s, -1) {
		name := s[loc[0]:loc[1]]
		if promKeywords[strings.ToLower(name)] || strings.HasPrefix(strings.TrimSpace(s[loc[1]:]), "(") {
			continue
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names
}

func readInto(t *testing.T, path string, unmarshal func([]byte, any) error, into any) {
	t.Helper()
	b, err := os.ReadFile(path)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	NewWithT(t).Expect(unmarshal(b, into)).To(Succeed(), path)
}

// gathered is the names the manager's registry exports now, as a scrape
// reads them: a histogram as its _bucket, _sum and _count series.
func gathered(t *testing.T) map[string]bool {
	t.Helper()
	families, err := metrics.Registry.Gather()
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	names := map[string]bool{}
	for _, f := range families {
		names[f.GetName()] = true
		if typ := f.GetType().String(); typ == "HISTOGRAM" || typ == "SUMMARY" {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				names[f.GetName()+suffix] = true
			}
		}
	}
	return names
}

// gatheredSeries is the sum of a counter's series that have the labels.
func gatheredSeries(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	sum := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if v, ok := labels[l.GetName()]; ok && v != l.GetValue() {
					continue series
				}
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}
