package bench

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/membergate/membergate/pkg/memberwait"
)

// sample is one wait of one run.
type sample struct {
	c Case
	o Outcome
	j Judgement
	r *Run
}

func samplesOf(runs []*Run) []sample {
	var ss []sample
	for _, r := range runs {
		for i, c := range r.Cases {
			ss = append(ss, sample{c: c, o: r.Outcomes[i], j: judge(c, r.Outcomes[i]), r: r})
		}
	}
	return ss
}

// outcomeLabels name judgements for scenarios where the member serves, and
// for those where it never does.
var (
	servesLabels = map[Judgement]string{Correct: "correct", Early: "early", Aborted: "aborted by an API error", GaveUp: "gave up"}
	neverLabels  = map[Judgement]string{Correct: "failure reported", Early: "success (wrong)"}
)

// summary counts judgements: "correct 200/200", "aborted 143/200, early 57/200".
func summary(ss []sample, labels map[Judgement]string) string {
	counts := map[Judgement]int{}
	for _, s := range ss {
		counts[s.j]++
	}
	var parts []string
	for _, j := range []Judgement{Correct, Early, Aborted, GaveUp} {
		if counts[j] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d/%d", labels[j], counts[j], len(ss)))
		}
	}
	return strings.Join(parts, ", ")
}

func count(ss []sample, j Judgement) int {
	n := 0
	for _, s := range ss {
		if s.j == j {
			n++
		}
	}
	return n
}

// collect returns f of every sample for which f reports ok.
func collect(ss []sample, f func(s sample) (time.Duration, bool)) []time.Duration {
	var out []time.Duration
	for _, s := range ss {
		if d, ok := f(s); ok {
			out = append(out, d)
		}
	}
	return out
}

// requestsPerRun is the number of requests of each run.
func requestsPerRun(runs []*Run) []int {
	var out []int
	for _, r := range runs {
		out = append(out, len(r.Requests))
	}
	return out
}

// returnedAt is when the wait ended, whatever its outcome.
func returnedAt(s sample) (time.Duration, bool) { return s.o.At, true }

// lagAfterReady is how long after the member was ready a success came
// (negative: that long before).
func lagAfterReady(s sample) (time.Duration, bool) {
	return s.o.At - s.c.ReadyAt, s.o.OK && s.c.ReadyAt >= 0
}

// lagAfterSettled is lagAfterReady measured from the earliest moment a
// waiter with memberwait's settle window can answer correctly: the Auto
// window of the scenarios' monitor, CAPO's.
func lagAfterSettled(s sample) (time.Duration, bool) {
	return s.o.At - s.c.ReadyAt - scenarioSettleWindow, s.o.OK && s.c.ReadyAt >= 0
}

// scenarioSettleWindow is memberwait's Auto window for the monitor every
// scenario's pool has (scenarios.go: TCP, delay 10 s, timeout 5 s,
// max_retries_down 3) on amphorae.
var scenarioSettleWindow = memberwait.AutoSettleWindow(memberwait.HealthMonitor{Delay: 10 * time.Second, Timeout: 5 * time.Second, MaxRetriesDown: 3}, "amphora", 0)

// noticeActive is how long after the member turned ACTIVE the strategy
// first saw it so.
func noticeActive(s sample) (time.Duration, bool) {
	return s.o.SawActive - s.c.ActiveAt, s.o.SawActive >= 0 && s.c.ActiveAt >= 0
}

// readsMember reports whether a strategy ever reads the member itself.
func readsMember(st Strategy) bool {
	return st.Key != "capo-0.13" && st.Key != "occm" && st.Key != "kuryr"
}

// earlyCell says whether, and how often, a strategy returned too early.
func earlyCell(ss []sample) string {
	n := count(ss, Early)
	if n == 0 {
		return "no"
	}
	return fmt.Sprintf("**yes** (%d/%d)", n, len(ss))
}

// createTable is the table of S1, S4 and S6: a member that serves at
// ReadyAt after turning ACTIVE at ActiveAt.
func createTable(strategies []Strategy, runs map[string][]*Run) (Table, []string) {
	t := Table{Header: []string{"strategy", "outcome", "returned too early", "returned at p50 / p99",
		"lag after serving p50 / p99", "lag after earliest settled answer p50 / p99", "saw member ACTIVE after p50 / p99", "requests p50 / p99"}}
	for _, st := range strategies {
		ss := samplesOf(runs[st.Key])
		settled, active := "—", "never reads it"
		if st.IsMemberwait() {
			settled = p50p99(collect(ss, lagAfterSettled))
		}
		if readsMember(st) {
			active = p50p99(collect(ss, noticeActive))
		}
		t.Add(st.Name, summary(ss, servesLabels), earlyCell(ss),
			p50p99(collect(ss, returnedAt)),
			p50p99(collect(ss, lagAfterReady)), settled, active, p50p99Int(requestsPerRun(runs[st.Key])))
	}
	return t, []string{
		"Lag is measured from the moment the member truly serves (it reads `ONLINE`) to the waiter's decision; negative means " +
			"it returned that long before. memberwait answers Serving only after the member has stayed `ONLINE` for its settle " +
			"window, Auto by default: 50 s for the scenarios' monitor (CAPO's 10/5/3; S9 shows other monitors), so its first " +
			"correct answer can come no earlier than 50 s after the member serves; the column " +
			"\"lag after earliest settled answer\" measures from that moment. The window is the price of not trusting one `ONLINE` " +
			"sample (S7 shows what it buys); a caller who accepts that risk sets `Options.SettleWindow`.",
		"\"saw member ACTIVE after\" is the time from the member's provisioning `ACTIVE` to the first poll that saw it: the cost of the " +
			"polling schedule alone, comparable across strategies that read the member.",
	}
}

// failureTable is the table of S3: a member that goes ERROR at errorAt.
func failureTable(strategies []Strategy, runs map[string][]*Run, errorAt time.Duration) (Table, []string) {
	t := Table{Header: []string{"strategy", "outcome", "how it ended", "reported at p50 / p99", "after the ERROR p50 / p99", "requests p50 / p99"}}
	for _, st := range strategies {
		ss := samplesOf(runs[st.Key])
		t.Add(st.Name, summary(ss, neverLabels), endings(ss),
			p50p99(collect(ss, returnedAt)),
			p50p99(collect(ss, func(s sample) (time.Duration, bool) { return s.o.At - errorAt, !s.o.OK })),
			p50p99Int(requestsPerRun(runs[st.Key])))
	}
	return t, []string{"A strategy that ends on its own budget reports a failure, but not that the member is in `ERROR`, and only " +
		"after that budget: for CAPO v0.14 the whole ≈274 s backoff."}
}

// endings names how the waits ended: success, the member's ERROR, a budget
// running out, or another error.
func endings(ss []sample) string {
	counts := map[string]int{}
	var order []string
	for _, s := range ss {
		var k string
		switch {
		case s.o.OK:
			k = "success"
		case s.o.Timeout:
			k = "budget spent"
		default:
			k = "error: " + shortErr(s.o.Err)
		}
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
	}
	var parts []string
	for _, k := range order {
		parts = append(parts, fmt.Sprintf("%s (%d)", k, counts[k]))
	}
	return strings.Join(parts, ", ")
}

// shortErr names an error by its kind, not its IDs.
func shortErr(err error) string {
	var me *memberwait.MemberError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &me):
		return "member ERROR"
	case strings.Contains(err.Error(), "unexpected state 'ERROR'"):
		return "unexpected state ERROR"
	}
	for _, code := range []string{"409", "429", "503", "404"} {
		if strings.Contains(err.Error(), "got "+code) || strings.Contains(err.Error(), "status "+code) {
			return code
		}
	}
	return err.Error()
}

// deleteTable is the table of S5.
func deleteTable(strategies []Strategy, runs map[string][]*Run) (Table, []string) {
	t := Table{Header: []string{"strategy", "waits for", "outcome", "returned at p50 / p99", "lag after gone p50 / p99", "requests p50 / p99"}}
	for _, st := range strategies {
		ss := samplesOf(runs[st.Key])
		t.Add(st.Name, deleteWaitsFor(st), summary(ss, servesLabels),
			p50p99(collect(ss, returnedAt)),
			p50p99(collect(ss, lagAfterReady)), p50p99Int(requestsPerRun(runs[st.Key])))
	}
	return t, []string{"In Octavia's delete flow the member row goes before the load balancer returns to `ACTIVE`, so here a " +
		"load-balancer wait is right; the scenario compares cost and lag."}
}

func deleteWaitsFor(st Strategy) string {
	switch st.Key {
	case "terraform":
		return "member DELETED/404 (load balancer first)"
	case keyMemberwait, keyMemberwaitShared:
		return "member Gone (404/absent), load balancer not PENDING_*"
	case "capo-0.14":
		return "load balancer ACTIVE (no member delete wait)"
	}
	return "load balancer ACTIVE"
}

// neverTable is the table of S7: a member that never truly serves.
func neverTable(strategies []Strategy, runs map[string][]*Run) (Table, []string) {
	t := Table{Header: []string{"strategy", "outcome", "how it ended", "returned at p50 / p99", "requests p50 / p99"}}
	for _, st := range strategies {
		ss := samplesOf(runs[st.Key])
		t.Add(st.Name, summary(ss, neverLabels), endings(ss),
			p50p99(collect(ss, returnedAt)),
			p50p99Int(requestsPerRun(runs[st.Key])))
	}
	return t, []string{fmt.Sprintf("memberwait keeps waiting for a member whose `ONLINE` did not hold; it ends at the %s timeout the "+
		"harness sets (with its defaults only the caller's context ends it) and the error carries `ACTIVE/ERROR` since 40 s.", seconds(memberwaitTimeout))}
}

// perLBLoad is what the load balancers of a run saw.
type perLBLoad struct {
	requests   int
	rate, peak float64 // mean requests/s while it had waiters; most requests in any 1 s
	sameTime   int     // most requests to one load balancer at one instant
}

// lbLoad attributes a run's requests to load balancers.
func lbLoad(r *Run) []perLBLoad {
	times := map[string][]time.Duration{}
	for _, q := range r.Requests {
		lb := r.LBOf[objectID(q.Path, "loadbalancers")]
		if lb == "" {
			lb = r.LBOf[objectID(q.Path, "pools")]
		}
		times[lb] = append(times[lb], q.At)
	}
	last := map[string]time.Duration{}
	for i, c := range r.Cases {
		last[c.LB] = max(last[c.LB], r.Outcomes[i].At)
	}
	// In the order of the load balancers' IDs, not the map's: callers sum
	// the rates, and a float sum depends on its order.
	var out []perLBLoad
	for _, lb := range slices.Sorted(maps.Keys(last)) {
		span := last[lb]
		ts := times[lb]
		slices.Sort(ts)
		l := perLBLoad{requests: len(ts), rate: float64(len(ts)) / max(span, time.Second).Seconds()}
		for i, j, same := 0, 0, 0; i < len(ts); i++ {
			for ts[j] < ts[i]-time.Second {
				j++
			}
			l.peak = max(l.peak, float64(i-j+1))
			if i > 0 && ts[i] == ts[i-1] {
				same++
			} else {
				same = 1
			}
			l.sameTime = max(l.sameTime, same)
		}
		out = append(out, l)
	}
	return out
}

// fanInTable is the table of S2.
func fanInTable(strategies []Strategy, runs map[string][]*Run) (Table, []string) {
	t := Table{Header: []string{"strategy", "outcome", "requests per run", "requests per load balancer", "requests/s per load balancer (mean / peak 1 s)",
		"most requests to one load balancer at one instant", "requests per poll", "lag after serving p50 / p99", "lag after earliest settled answer p50 / p99"}}
	for _, st := range strategies {
		rs := runs[st.Key]
		ss := samplesOf(rs)
		var total, lbs, same int
		var rate, peak float64
		for _, r := range rs {
			total += len(r.Requests)
			for _, l := range lbLoad(r) {
				lbs++
				rate += l.rate
				peak = max(peak, l.peak)
				same = max(same, l.sameTime)
			}
		}
		perPoll, settled := "—", "—"
		if st.Shared {
			polls := 0
			for _, r := range rs {
				polls += r.Polls
			}
			perPoll = strconv.FormatFloat(float64(total)/float64(max(polls, 1)), 'f', 2, 64)
		}
		if st.IsMemberwait() {
			settled = p50p99(collect(ss, lagAfterSettled))
		}
		t.Add(st.Name, summary(ss, servesLabels), strconv.Itoa(total/max(len(rs), 1)), strconv.Itoa(total/max(lbs, 1)),
			fmt.Sprintf("%.2f / %.0f", rate/float64(max(lbs, 1)), peak), strconv.Itoa(same), perPoll,
			p50p99(collect(ss, lagAfterReady)), settled)
	}
	return t, []string{
		"Requests are per run (mean over the seeds). The mean rate divides a load balancer's requests by the time until its last " +
			"waiter returned (at least 1 s); the peak is the most requests it got in any closed 1 s window. For waits of about " +
			"a second the mean can exceed the peak: 20 requests in 1.1 s fall in two windows of 10.",
		"\"requests per poll\" is the shared Poller's requests divided by its polls: 1.00 means exactly one request per load balancer per poll.",
	}
}

// lbCount is the number of load balancers in a run.
func lbCount(r *Run) int {
	lbs := map[string]bool{}
	for _, c := range r.Cases {
		lbs[c.LB] = true
	}
	return len(lbs)
}
