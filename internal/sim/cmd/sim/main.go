// Command sim runs the deterministic rollout simulation (internal/sim): many
// seeds with and without the gate, summarised as a table, then the scripted
// drills; or one seed or drill with its trace.
//
//	go run ./internal/sim/cmd/sim -seeds 10000       # what make sim runs
//	go run ./internal/sim/cmd/sim -seed 4242 -v      # replay one seed
//	go run ./internal/sim/cmd/sim -drill crash-across-failover -v
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
	workers := flag.Int("workers", 0, "goroutines (0: one per CPU)")
	flag.Parse()

	switch {
	case *seed != 0:
		os.Exit(replay(sim.Generate(*seed), *verbose))
	case *drill != "":
		for _, d := range sim.Drills() {
			if d.Name == *drill {
				fmt.Printf("drill %s: %s\n", d.Name, d.Why)
				os.Exit(replay(d.Scenario, *verbose))
			}
		}
		fmt.Fprintf(os.Stderr, "no drill %q\n", *drill)
		os.Exit(2)
	}
	code := campaign(*first, *seeds, *workers)
	if drills() {
		code = 1
	}
	os.Exit(code)
}

func campaign(first uint64, n, workers int) int {
	start := time.Now()
	pairs := sim.RunSeeds(first, n, workers)
	rows, total := sim.Summarize(pairs)
	fmt.Printf("%d seeds (%d..%d), each run with and without the gate, in %s\n\n", n, first, first+uint64(n)-1,
		time.Since(start).Round(time.Second))
	sim.WriteTable(os.Stdout, rows, total)
	fmt.Printf("\nruns: %d; invariant violations with the gate: %d (after a scripted manual release: %d); without the gate: %d "+
		"(below capacity: %d, outage: %d); held forever: %d, alerted: %d\n", total.Runs, total.Violations, total.ManualViolations,
		total.Baseline, total.BaselineCapacity, total.BaselineOutage, total.HeldForever, total.Alerted)
	fmt.Printf("\nsettle window by monitor: a fixed 45 s window (the MemberGate's settleWindow: 45s) against Auto, the default\n\n")
	sim.WriteSettleTable(os.Stdout, pairs)
	fmt.Printf("\nreleased early with a fixed 45 s window: %d runs (%d releases, %d violations); with Auto: %d runs\n",
		total.FixedEarlyRuns, total.FixedEarly, total.FixedViolations, total.AutoEarlyRuns)
	fmt.Printf("\nnew connections to a stopped API server, per replaced Machine: the gate without the drain (drainPeriod: 0s) and with it (the default, 30 s)\n\n")
	sim.WriteDrainTable(os.Stdout, rows, total)
	fmt.Printf("\nMachines the release rule let go that got new connections after their API server stopped: without the drain %d of %d; with it %d of %d (%d released undrained after the drain period; drained and exposed all the same: %d)\n",
		sim.Exposed(total.ExposureNoDrain), len(total.ExposureNoDrain), sim.Exposed(total.Exposure), len(total.Exposure), total.DrainsFailed, total.DrainLeaks)
	shown := 0
	for _, p := range pairs {
		if p.Gated.EarlyReleases > 0 && shown < 10 {
			fmt.Printf("released before the others truly served: seed %d (%s) — go run ./internal/sim/cmd/sim -seed %d -v\n",
				p.Gated.Seed, p.Gated.Kind, p.Gated.Seed)
			shown++
		}
	}
	fmt.Printf("\nmember remediation (spec.remediation: Recreate) on the seeds that ask for it and have a member in ERROR, against the same seeds without it\n\n")
	rem := sim.SummarizeRemediation(pairs)
	sim.WriteRemediationTable(os.Stdout, rem)
	failures := sim.Failures(pairs)
	for _, f := range failures {
		fmt.Println("FAIL", f)
	}
	if total.AutoEarlyRuns > 0 {
		fmt.Println("FAIL the Auto settle window released a Machine before the others truly served")
		return 1
	}
	if len(failures) > 0 {
		return 1
	}
	return 0
}

// drills plays the scripted drills and reports whether one ended other than
// expected.
func drills() (bad bool) {
	fmt.Printf("\n| drill | with the gate | without | expected |\n|---|---|---|---|\n")
	for _, d := range sim.Drills() {
		g := sim.Run(d.Scenario, sim.Options{Gate: true})
		u := sim.Run(d.Scenario, sim.Options{})
		fmt.Printf("| %s | %s | %s | holds |\n", d.Name, outcome(g), outcome(u))
		if g.Violation {
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

func replay(sc sim.Scenario, verbose bool) int {
	fmt.Printf("scenario: %+v\n\n", sc)
	code := 0
	for _, gated := range []bool{true, false} {
		o := sim.Options{Gate: gated}
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
