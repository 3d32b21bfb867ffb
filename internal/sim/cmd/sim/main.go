// Command sim runs the deterministic rollout simulation (internal/sim): many
// seeds with and without the gate, summarised as a table, then the scripted
// drills; or one seed or drill with its trace.
//
//	go run ./internal/sim/cmd/sim -seeds 10000       # what make sim runs
//	go run ./internal/sim/cmd/sim -seed 4242 -v      # replay one seed
//	go run ./internal/sim/cmd/sim -drill crash-across-failover -v
//	go run ./internal/sim/cmd/sim -fix               # the candidate fix
//
// It exits 1 when a seed breaks the invariant with the gate, or holds
// forever without an alert, or when a drill does not end as expected.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/membergate/membergate/internal/sim"
)

func main() {
	seeds := flag.Int("seeds", 10000, "how many seeds to run")
	first := flag.Uint64("first", 1, "the first seed")
	seed := flag.Uint64("seed", 0, "replay this one seed")
	drill := flag.String("drill", "", "replay this drill")
	verbose := flag.Bool("v", false, "with -seed or -drill: print the trace of both runs")
	fix := flag.Bool("fix", false, "run the controller model with the candidate fix for the stale-status bugs")
	workers := flag.Int("workers", 0, "goroutines (0: one per CPU)")
	flag.Parse()

	switch {
	case *seed != 0:
		os.Exit(replay(sim.Generate(*seed), *verbose, *fix))
	case *drill != "":
		for _, d := range sim.Drills() {
			if d.Name == *drill {
				fmt.Printf("drill %s: %s\n", d.Name, d.Why)
				if d.KnownBug != "" {
					fmt.Printf("known bug: %s\n", d.KnownBug)
				}
				os.Exit(replay(d.Scenario, *verbose, *fix))
			}
		}
		fmt.Fprintf(os.Stderr, "no drill %q\n", *drill)
		os.Exit(2)
	}
	code := campaign(*first, *seeds, *workers, *fix)
	if drills(*fix) {
		code = 1
	}
	os.Exit(code)
}

func campaign(first uint64, n, workers int, fix bool) int {
	start := time.Now()
	pairs := sim.RunSeeds(first, n, workers, fix)
	rows, total := sim.Summarize(pairs)
	note := ""
	if fix {
		note = ", controller with the candidate stale-status fix"
	}
	fmt.Printf("%d seeds (%d..%d), each run with and without the gate%s, in %s\n\n", n, first, first+uint64(n)-1, note,
		time.Since(start).Round(time.Second))
	sim.WriteTable(os.Stdout, rows, total)
	fmt.Printf("\nruns: %d; invariant violations with the gate: %d (after a scripted manual release: %d); without the gate: %d "+
		"(below capacity: %d, outage: %d); held forever: %d, alerted: %d\n", total.Runs, total.Violations, total.ManualViolations,
		total.Baseline, total.BaselineCapacity, total.BaselineOutage, total.HeldForever, total.Alerted)
	shown := 0
	for _, p := range pairs {
		if p.Gated.EarlyReleases > 0 && shown < 10 {
			fmt.Printf("released before the others truly served: seed %d (%s) — go run ./internal/sim/cmd/sim -seed %d -v\n",
				p.Gated.Seed, p.Gated.Kind, p.Gated.Seed)
			shown++
		}
	}
	failures := sim.Failures(pairs)
	for _, f := range failures {
		fmt.Println("FAIL", f)
	}
	if len(failures) > 0 {
		return 1
	}
	return 0
}

// drills plays the scripted drills and reports whether one ended other than
// expected.
func drills(fix bool) (bad bool) {
	fmt.Printf("\n| drill | with the gate | without | expected |\n|---|---|---|---|\n")
	for _, d := range sim.Drills() {
		g := sim.Run(d.Scenario, sim.Options{Gate: true, Fix: fix})
		u := sim.Run(d.Scenario, sim.Options{})
		expect := "holds"
		if d.KnownBug != "" && !fix {
			expect = "KNOWN BUG: breaks"
		}
		fmt.Printf("| %s | %s | %s | %s |\n", d.Name, outcome(g), outcome(u), expect)
		if g.Violation != (expect != "holds") {
			bad = true
		}
	}
	if bad {
		fmt.Println("FAIL a drill did not end as expected (replay: go run ./internal/sim/cmd/sim -drill NAME -v)")
	}
	return bad
}

func outcome(r sim.Result) string {
	switch {
	case r.Violation:
		return fmt.Sprintf("breaks at t=%ds: %s", r.ViolationAt, r.ViolationWhy)
	case r.HeldForever:
		return fmt.Sprintf("holds (held forever, alerted: %v)", r.Alerted)
	}
	return "holds"
}

func replay(sc sim.Scenario, verbose, fix bool) int {
	fmt.Printf("scenario: %+v\n\n", sc)
	code := 0
	for _, gated := range []bool{true, false} {
		o := sim.Options{Gate: gated, Fix: fix}
		if verbose {
			fmt.Printf("== gate: %v\n", gated)
			o.Trace = os.Stdout
		}
		r := sim.Run(sc, o)
		fmt.Printf("gate %v: %+v\n\n", gated, r)
		if gated && (r.Violation || (r.HeldForever && !r.Alerted) || r.HeldButReady) {
			code = 1
		}
	}
	return code
}
