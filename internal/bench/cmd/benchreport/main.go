// Command benchreport runs every waiting strategy through the benchmark
// scenarios on emulated Octavia clouds in virtual time, prints one table per
// scenario and the targets, and with -write renders docs/benchmarks.md.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/membergate/membergate/internal/bench"
)

func main() {
	write := flag.String("write", "", "write the Markdown report to this file")
	gobench := flag.String("gobench", "", "output of `go test -bench` to include as the machine-dependent section")
	runs := flag.Int("runs", 0, "seeds per scenario (0: each scenario's own count; for quick looks, not for the document)")
	flag.Parse()

	scenarios := bench.Scenarios()
	if *runs > 0 {
		for i := range scenarios {
			scenarios[i].Runs = *runs
		}
	}
	report, err := bench.Build(bench.Strategies(), scenarios, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
	if *gobench != "" {
		out, err := os.ReadFile(*gobench)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchreport:", err)
			os.Exit(1)
		}
		report.AddGoBench(string(out))
	}
	fmt.Print(report.Text())
	fmt.Fprintf(os.Stderr, "all scenarios in %s of real time\n", report.Elapsed.Round(time.Millisecond))

	if *write != "" {
		// The document names the command that reproduces it: make bench
		// for the whole of it, this command for the tables alone.
		cmd := "make bench"
		if *gobench == "" {
			cmd = "go run ./internal/bench/cmd/benchreport " + strings.Join(os.Args[1:], " ")
		}
		if err := os.WriteFile(*write, []byte(report.Markdown(cmd)), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "benchreport:", err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "wrote", *write)
	}
	if !report.Passed() {
		fmt.Fprintln(os.Stderr, "benchreport: some targets were missed (see FAIL above)")
	}
}
