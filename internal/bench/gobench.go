package bench

import (
	"fmt"
	"strconv"
	"strings"
)

// GoBench is what `go test -bench` printed: its header (goos, goarch, cpu),
// every benchmark line, and BenchmarkWaiters' results parsed.
type GoBench struct {
	Lines   []string
	Waiters []WaitersResult
}

// WaitersResult is one BenchmarkWaiters sub-benchmark: Kind ("shared" or
// "each") and Waiters from its name, and its metrics by unit.
type WaitersResult struct {
	Kind    string
	Waiters int
	Metrics map[string]float64
}

// Metrics BenchmarkWaiters reports, beyond ns/op, B/op and allocs/op.
const (
	metricRequests = "requests/op"
	metricPolls    = "polls/op"
	metricPerPoll  = "req/poll"
	metricSameTime = "max-req/LB/instant"
	metricLBs      = "LBs"
	metricWrong    = "wrong/op"
	metricBytes    = "B/waiter"
	metricAllocs   = "allocs/waiter"
	metricHeap     = "heap-B/waiter"
	metricCPU      = "cpu-ns/waiter"
)

// ParseGoBench keeps the header and result lines of `go test -bench`
// output and parses BenchmarkWaiters' lines.
func ParseGoBench(out string) *GoBench {
	g := &GoBench{}
	for _, line := range strings.Split(out, "\n") {
		for _, p := range []string{"goos:", "goarch:", "pkg:", "cpu:", "Benchmark"} {
			if strings.HasPrefix(line, p) {
				g.Lines = append(g.Lines, line)
				break
			}
		}
		if r, ok := parseWaitersLine(line); ok {
			g.Waiters = append(g.Waiters, r)
		}
	}
	return g
}

// parseWaitersLine parses "BenchmarkWaiters/shared-10000-2  1  123 ns/op  1.000 req/poll …".
func parseWaitersLine(line string) (WaitersResult, bool) {
	f := strings.Fields(line)
	if len(f) < 4 {
		return WaitersResult{}, false
	}
	name, ok := strings.CutPrefix(f[0], "BenchmarkWaiters/")
	if !ok {
		return WaitersResult{}, false
	}
	parts := strings.Split(name, "-")
	if len(parts) < 2 {
		return WaitersResult{}, false
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil {
		return WaitersResult{}, false
	}
	r := WaitersResult{Kind: parts[0], Waiters: n, Metrics: map[string]float64{}}
	for i := 2; i+1 < len(f); i += 2 {
		if v, err := strconv.ParseFloat(f[i], 64); err == nil {
			r.Metrics[f[i+1]] = v
		}
	}
	return r, true
}

// AddGoBench adds `go test -bench` output to the report: the per-waiter
// cost table and the claims of the scale run.
func (r *Report) AddGoBench(out string) {
	r.GoBench = ParseGoBench(out)
	var big *WaitersResult
	for i, w := range r.GoBench.Waiters {
		if w.Kind == "shared" && (big == nil || w.Waiters > big.Waiters) {
			big = &r.GoBench.Waiters[i]
		}
	}
	if big == nil {
		r.Claims = append(r.Claims, Claim{Name: "scale: BenchmarkWaiters/shared ran", Detail: "no BenchmarkWaiters/shared line in the go test output"})
		return
	}
	m := big.Metrics
	r.Claims = append(r.Claims,
		Claim{Name: fmt.Sprintf("scale: %d concurrent waiters on %.0f load balancers in one process, one request per load balancer per poll", big.Waiters, m[metricLBs]),
			Pass: m[metricPerPoll] == 1 && m[metricSameTime] == 1 && m[metricWrong] == 0 && m[metricRequests] > 0,
			Detail: fmt.Sprintf("%.0f status-tree requests per poll over %.0f polls (%.0f requests in all, with one read of each monitor and provider for the Auto settle window); at most %.0f request(s) to one load balancer at one instant; %.0f wrong outcomes",
				m[metricPerPoll], m[metricPolls], m[metricRequests], m[metricSameTime], m[metricWrong])},
		Claim{Name: fmt.Sprintf("scale: memory and CPU per waiter reported (BenchmarkWaiters/shared-%d)", big.Waiters),
			Pass: m[metricBytes] > 0 && m[metricCPU] > 0,
			Detail: fmt.Sprintf("%.0f B and %.0f allocations allocated, %.0f B live while parked, %.1f µs CPU per waiter",
				m[metricBytes], m[metricAllocs], m[metricHeap], m[metricCPU]/1e3)})
}

// waitersTable renders BenchmarkWaiters' results.
func (g *GoBench) waitersTable() Table {
	t := Table{Header: []string{"waiters", "kind", "load balancers", "requests", "polls", "requests per poll", "most requests to one load balancer at one instant",
		"allocated per waiter", "allocations per waiter", "live while parked, per waiter", "CPU per waiter", "real time per run"}}
	for _, w := range g.Waiters {
		m := w.Metrics
		kind, polls, perPoll := "one Wait per waiter", "—", "—"
		if w.Kind == "shared" {
			kind, polls, perPoll = "shared Poller", fmt.Sprintf("%.0f", m[metricPolls]), fmt.Sprintf("%.2f", m[metricPerPoll])
		}
		t.Add(strconv.Itoa(w.Waiters), kind, fmt.Sprintf("%.0f", m[metricLBs]), fmt.Sprintf("%.0f", m[metricRequests]), polls, perPoll,
			fmt.Sprintf("%.0f", m[metricSameTime]), fmt.Sprintf("%.1f KiB", m[metricBytes]/1024), fmt.Sprintf("%.0f", m[metricAllocs]),
			fmt.Sprintf("%.1f KiB", m[metricHeap]/1024), fmt.Sprintf("%.0f µs", m[metricCPU]/1e3), fmt.Sprintf("%.2f s", m["ns/op"]/1e9))
	}
	return t
}
