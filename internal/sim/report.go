package sim

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// Pair is one seed played with and without the gate, and with the gate
// without draining (the MemberGate's drainPeriod: 0s) on Auto and on a
// fixed 45 s settle window. The drain holds every release for its period,
// during which a slow monitor may report what a short settle window
// missed: the settle windows are compared without it.
type Pair struct {
	Scenario Scenario
	Gated    Result
	Ungated  Result
	Fixed    Result
	NoDrain  Result
	// Unremediated is the gated run with remediation off, for a seed
	// whose policy asks for it and that has a member in ERROR.
	Unremediated *Result
}

// FixedSettleWindow is the window of the gate the Fixed runs play: the
// 45 s default before Auto.
const FixedSettleWindow = 45 * time.Second

// RunSeeds plays seeds first..first+n-1 on workers goroutines (0: one per
// CPU). The
// result does not depend on the number of workers.
func RunSeeds(first uint64, n, workers int) []Pair {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	out := make([]Pair, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				sc := Generate(first + uint64(i))
				out[i] = Pair{Scenario: sc, Gated: Run(sc, Options{Gate: true}), Ungated: Run(sc, Options{}),
					Fixed:   Run(sc, Options{Gate: true, SettleWindow: FixedSettleWindow, NoDrain: true}),
					NoDrain: Run(sc, Options{Gate: true, NoDrain: true}), Unremediated: unremediated(sc)}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// Row is the report line of one scenario kind (or of all).
type Row struct {
	Kind                 string
	Runs                 int
	Violations           int // with the gate, no manual release before: must be 0
	ManualViolations     int // with the gate, after a scripted manual release
	Baseline             int // without the gate: any failure
	BaselineCapacity     int // without the gate: below max(replicas−1, 1)
	BaselineOutage       int // without the gate: no member served at all
	HeldForever, Alerted int
	HeldButReady         int // held forever although the truth allowed release
	EarlyReleases        int
	// With a fixed 45 s settle window: runs that released a Machine early
	// (FixedEarlyRuns), releases made early (FixedEarly), and invariant
	// violations (FixedViolations); and the same runs' early releases with
	// Auto (AutoEarlyRuns), which must be 0.
	FixedEarlyRuns, FixedEarly, FixedViolations, AutoEarlyRuns int
	Holds                                                      []int // per release: seconds beyond true readiness
	Rollouts                                                   []int // per completed rollout: the sum
	// Exposure and ExposureNoDrain are, per Machine whose API server
	// stopped, the seconds the load balancer would have sent it new
	// connections after that, with the drain and without; DrainLeaks
	// counts drained Machines exposed all the same (must be 0),
	// DrainsFailed releases without a drain after the drain period.
	Exposure, ExposureNoDrain []int
	DrainLeaks, DrainsFailed  int
	// ExposureOther: with the drain, Machines released by hand or never
	// held, which are not drained.
	ExposureOther []int
}

// Summarize builds the per-kind rows and the total.
func Summarize(pairs []Pair) (rows []Row, total Row) {
	byKind := map[Kind]*Row{}
	for _, k := range Kinds() {
		byKind[k] = &Row{Kind: string(k)}
	}
	total.Kind = "all"
	for _, p := range pairs {
		for _, r := range []*Row{byKind[p.Scenario.Kind], &total} {
			r.add(p)
		}
	}
	for _, k := range Kinds() {
		rows = append(rows, *byKind[k])
	}
	return rows, total
}

func (r *Row) add(p Pair) {
	g, u := p.Gated, p.Ungated
	r.Runs++
	r.Violations += b2i(g.Violation)
	r.ManualViolations += b2i(g.ManualViolation && !g.Violation)
	r.Baseline += b2i(u.Violation)
	r.BaselineCapacity += b2i(u.BelowCapacity)
	r.BaselineOutage += b2i(u.Outage)
	r.HeldForever += b2i(g.HeldForever)
	r.Alerted += b2i(g.HeldForever && g.Alerted)
	r.HeldButReady += b2i(g.HeldButReady)
	r.EarlyReleases += g.EarlyReleases
	r.FixedEarly += p.Fixed.EarlyReleases
	r.FixedEarlyRuns += b2i(p.Fixed.EarlyReleases > 0)
	r.FixedViolations += b2i(p.Fixed.Violation)
	r.AutoEarlyRuns += b2i(g.EarlyReleases > 0 || p.NoDrain.EarlyReleases > 0)
	r.Exposure = append(r.Exposure, g.Exposure...)
	r.ExposureOther = append(r.ExposureOther, g.ExposureOther...)
	r.ExposureNoDrain = append(r.ExposureNoDrain, p.NoDrain.Exposure...)
	r.DrainLeaks += g.DrainLeaks
	r.DrainsFailed += g.DrainsFailed
	r.Holds = append(r.Holds, g.Excess...)
	if g.RolledOut && len(g.Excess) > 0 {
		r.Rollouts = append(r.Rollouts, g.RolloutExcess)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Percentile returns the p-th percentile (nearest rank) of xs, -1 if empty.
func Percentile(xs []int, p float64) int {
	if len(xs) == 0 {
		return -1
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(p/100*float64(len(s))+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}

// label is the row's name in a table: the total in bold.
func (r Row) label() string {
	if r.Kind == "all" {
		return "**all**"
	}
	return r.Kind
}

// WriteTable writes the report as a Markdown table.
func WriteTable(out io.Writer, rows []Row, total Row) {
	fmt.Fprintln(out, "| scenario | runs | violations with gate | after manual release | without gate: any | below capacity | outage | held forever (alerted) | released early | held beyond readiness p50 / p99 (per hold) | per rollout p50 / p99 |")
	fmt.Fprintln(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range append(rows, total) {
		name := r.label()
		fmt.Fprintf(out, "| %s | %d | %d | %d | %d (%s) | %d (%s) | %d (%s) | %d (%d) | %d | %s / %s | %s / %s |\n", name, r.Runs, r.Violations, r.ManualViolations,
			r.Baseline, pct(r.Baseline, r.Runs), r.BaselineCapacity, pct(r.BaselineCapacity, r.Runs), r.BaselineOutage, pct(r.BaselineOutage, r.Runs),
			r.HeldForever, r.Alerted, r.EarlyReleases,
			secs(Percentile(r.Holds, 50)), secs(Percentile(r.Holds, 99)), secs(Percentile(r.Rollouts, 50)), secs(Percentile(r.Rollouts, 99)))
	}
}

func pct(n, of int) string {
	if of == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(n)/float64(of))
}

func secs(s int) string {
	if s < 0 {
		return "–"
	}
	return fmt.Sprintf("%ds", s)
}

// Failures lists the seeds that violated the invariant with the gate, or
// whose hold outlived the horizon without an alert, with how to replay them.
func Failures(pairs []Pair) []string {
	var out []string
	for _, p := range pairs {
		g := p.Gated
		var why []string
		if g.Violation {
			why = append(why, fmt.Sprintf("invariant violated at t=%ds: %s", g.ViolationAt, g.ViolationWhy))
		}
		if g.HeldForever && !g.Alerted {
			why = append(why, "held forever without an alert")
		}
		if g.HeldButReady {
			why = append(why, "held forever although every other member truly serves")
		}
		if g.DrainLeaks > 0 {
			why = append(why, "a Machine released after its members were drained still got new connections after its API server stopped")
		}
		if p.NoDrain.Violation {
			why = append(why, fmt.Sprintf("without the drain: invariant violated at t=%ds: %s", p.NoDrain.ViolationAt, p.NoDrain.ViolationWhy))
		}
		why = append(why, g.Remediation.Violations...)
		if len(why) > 0 {
			out = append(out, fmt.Sprintf("seed %d (%s): %s — replay: go run ./internal/sim/cmd/sim -seed %d -v", g.Seed, g.Kind, strings.Join(why, "; "), g.Seed))
		}
	}
	return out
}

// WriteSettleTable writes what a fixed 45 s settle window does against
// Auto, by how long the scenarios' monitors take to report a member that
// does not serve (delay×max_retries_down+timeout, plus the heartbeat): the
// runs that released a Machine while another member did not truly serve,
// and those that broke the invariant.
func WriteSettleTable(out io.Writer, pairs []Pair) {
	type row struct {
		name                                                                    string
		runs, fixedEarlyRuns, fixedEarly, fixedViolations, autoEarly, autoViols int
	}
	rows := []*row{{name: "≤ 45 s (CAPO's 10/5/3 and faster)"}, {name: "46–80 s"}, {name: "> 80 s (e.g. 30/10/3: 110 s)"}, {name: "**all**"}}
	for _, p := range pairs {
		m := p.Scenario.Monitor
		b := 2
		switch d := m.delay()*m.down() + m.timeout() + heartbeat; {
		case d <= 45:
			b = 0
		case d <= 80:
			b = 1
		}
		for _, r := range []*row{rows[b], rows[3]} {
			r.runs++
			r.fixedEarlyRuns += b2i(p.Fixed.EarlyReleases > 0)
			r.fixedEarly += p.Fixed.EarlyReleases
			r.fixedViolations += b2i(p.Fixed.Violation)
			r.autoEarly += b2i(p.NoDrain.EarlyReleases > 0)
			r.autoViols += b2i(p.NoDrain.Violation)
		}
	}
	fmt.Fprintln(out, "| monitor reports a dead member after | runs | fixed 45 s: runs released early (releases) | fixed 45 s: violations | Auto: runs released early | Auto: violations |")
	fmt.Fprintln(out, "|---|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		fmt.Fprintf(out, "| %s | %d | %d (%d) | %d | %d | %d |\n", r.name, r.runs, r.fixedEarlyRuns, r.fixedEarly, r.fixedViolations, r.autoEarly, r.autoViols)
	}
}

// WriteDrainTable writes, per scenario kind, the seconds per replaced
// Machine during which the load balancer would send new connections to an
// API server that has stopped (its etcd member removed): without the drain
// and with it, for the Machines the release rule let go; and, with it, the
// Machines released by hand or never held, which are not drained.
func WriteDrainTable(out io.Writer, rows []Row, total Row) {
	fmt.Fprintln(out, "| scenario | released by the rule, stopped | without drain: exposed (share) | mean / p99 / max | with drain: exposed | mean / max | released undrained | by hand or never held: exposed / stopped |")
	fmt.Fprintln(out, "|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range append(rows, total) {
		name := r.label()
		n, e := Exposed(r.ExposureNoDrain), Exposed(r.Exposure)
		fmt.Fprintf(out, "| %s | %d | %d (%s) | %s / %s / %s | %d | %s / %s | %d | %d / %d |\n", name, len(r.Exposure), n, pct(n, len(r.ExposureNoDrain)),
			mean(r.ExposureNoDrain), secs(Percentile(r.ExposureNoDrain, 99)), secs(Percentile(r.ExposureNoDrain, 100)),
			e, mean(r.Exposure), secs(Percentile(r.Exposure, 100)), r.DrainsFailed, Exposed(r.ExposureOther), len(r.ExposureOther))
	}
}

// Exposed counts the Machines with any exposure.
func Exposed(xs []int) int {
	n := 0
	for _, x := range xs {
		n += b2i(x > 0)
	}
	return n
}

func mean(xs []int) string {
	if len(xs) == 0 {
		return "–"
	}
	sum := 0
	for _, x := range xs {
		sum += x
	}
	return fmt.Sprintf("%.1fs", float64(sum)/float64(len(xs)))
}
