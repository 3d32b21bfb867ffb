// Command bench-plot draws the bench's S1 scenario (the amphorav2 quirk):
// every waiting strategy's decision, over every seed, against the member's
// true timeline, as the SVG docs/benchmarks.md shows. It runs the
// scenario itself with internal/bench (deterministic: the same seeds and
// code draw the same picture); it lives in the test module so that gonum
// stays out of the product's go.mod. hack/bench.sh runs it.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/membergate/membergate/internal/bench"
	"github.com/membergate/membergate/internal/testenv"
	"github.com/membergate/membergate/test/plots"
)

func main() {
	out := flag.String("out", "", "write the SVG here (default: the repository's docs/img/s1-strategies.svg)")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "bench-plot:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	if out == "" {
		root, err := testenv.RepoRoot()
		if err != nil {
			return err
		}
		out = filepath.Join(root, "docs", "img", "s1-strategies.svg")
	}
	sc := bench.ScenarioAmphoraQuirk()
	strategies := bench.Strategies()
	runs, err := bench.RunAll(sc, strategies)
	if err != nil {
		return err
	}
	member, rows, err := decisions(strategies, runs)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	title := fmt.Sprintf("%s (%s): each strategy's decision over %d seeds", sc.ID, sc.Title, sc.Runs)
	if err := plots.WriteStrategies(f, title, member, rows); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "wrote", out)
	return nil
}

// decisions are each strategy's outcomes as the plot draws them, in the
// order of the strategies, and the member's timeline, which every run of
// the scenario shares.
func decisions(strategies []bench.Strategy, runs map[string][]*bench.Run) (plots.Member, []plots.Strategy, error) {
	var member plots.Member
	rows := make([]plots.Strategy, 0, len(strategies))
	for _, st := range strategies {
		row := plots.Strategy{Name: st.Name}
		for _, r := range runs[st.Key] {
			if len(r.Cases) != 1 || len(r.Outcomes) != 1 {
				return member, nil, fmt.Errorf("%s seed %d: %d waits, S1 has one", st.Name, r.Seed, len(r.Outcomes))
			}
			c, o := r.Cases[0], r.Outcomes[0]
			member = plots.Member{ActiveAt: c.ActiveAt, ServesAt: c.ReadyAt}
			row.Decisions = append(row.Decisions, plots.Decision{At: o.At, OK: o.OK})
		}
		rows = append(rows, row)
	}
	return member, rows, nil
}
