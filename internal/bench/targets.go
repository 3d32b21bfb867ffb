package bench

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/membergate/membergate/pkg/memberwait"
)

// Limits the targets hold memberwait to.
const (
	// S1: p99 lag after the earliest settled answer.
	targetSettledLag = 2 * time.Second
	// S6: lag bounded by the backoff cap.
	targetCapLag = memberwait.DefaultMaxDelay
)

var memberwaitKeys = []string{keyMemberwait, keyMemberwaitShared}

func memberwaitName(key string) string {
	s, _ := StrategyByKey(key)
	return s.Name
}

// checkClaims checks the claims the report makes for memberwait.
func checkClaims(res Results) []Claim {
	var ts []Claim
	for _, key := range memberwaitKeys {
		ss := samplesOf(res["S1"][key])
		early := count(ss, Early)
		ts = append(ts, Claim{Name: "S1: " + memberwaitName(key) + " never returns early",
			Pass:   early == 0 && count(ss, Correct) == len(ss) && len(ss) > 0,
			Detail: fmt.Sprintf("%d early, %d correct of %d runs", early, count(ss, Correct), len(ss))})
		p99, ok := percentile(collect(ss, lagAfterSettled), 99)
		ts = append(ts, Claim{Name: fmt.Sprintf("S1: %s p99 lag ≤ %s after the earliest settled answer", memberwaitName(key), seconds(targetSettledLag)),
			Pass: ok && p99 <= targetSettledLag, Detail: fmt.Sprintf("p99 = %.2f s", p99.Seconds())})
	}
	ts = append(ts, onePerPoll("S2", res["S2"][keyMemberwaitShared]), onePerPoll("S2b", res["S2b"][keyMemberwaitShared]),
		costFlat(res["S1"][keyMemberwaitShared], res["S2b"][keyMemberwaitShared]))
	for _, key := range memberwaitKeys {
		ts = append(ts, failsAtFirstPoll(memberwaitName(key), res["S3"][key], s3ErrorAt))
	}
	for _, key := range memberwaitKeys {
		ss := samplesOf(res["S6"][key])
		lag, ok1 := percentile(collect(ss, lagAfterSettled), 99)
		seen, ok2 := percentile(collect(ss, noticeActive), 99)
		ts = append(ts, Claim{Name: fmt.Sprintf("S6: %s lag ≤ the backoff cap (%s)", memberwaitName(key), seconds(targetCapLag)),
			Pass:   ok1 && ok2 && lag <= targetCapLag && seen <= targetCapLag && count(ss, Correct) == len(ss),
			Detail: fmt.Sprintf("p99 lag after the earliest settled answer %s; p99 from ACTIVE to seeing it %s", seconds(lag), seconds(seen))})
	}
	for _, key := range memberwaitKeys {
		ss := samplesOf(res["S4"][key])
		ts = append(ts, Claim{Name: "S4: " + memberwaitName(key) + " gets the right outcome through the noise",
			Pass: count(ss, Correct) == len(ss) && len(ss) > 0, Detail: summary(ss, servesLabels)})
	}
	return ts
}

// onePerPoll checks that a shared Poller sent exactly one request per load
// balancer per poll: as many requests as polls, and never two requests to
// one load balancer at the same instant.
// pollsOnly is a copy of r with only its status-tree requests, the polls:
// the Auto settle window also reads each monitor and each load balancer's
// provider once per wait, with the first poll, and those are not polls.
func pollsOnly(r *Run) *Run {
	trees := *r
	trees.Requests = nil
	for _, q := range r.Requests {
		if strings.HasSuffix(q.Path, "/status") {
			trees.Requests = append(trees.Requests, q)
		}
	}
	return &trees
}

func onePerPoll(id string, rs []*Run) Claim {
	requests, polls, same, once := 0, 0, 0, 0
	for _, r := range rs {
		trees := pollsOnly(r)
		requests += len(trees.Requests)
		once += len(r.Requests) - len(trees.Requests)
		polls += r.Polls
		for _, l := range lbLoad(trees) {
			same = max(same, l.sameTime)
		}
	}
	return Claim{Name: id + ": shared Poller sends exactly one request per load balancer per poll",
		Pass: len(rs) > 0 && requests == polls && same == 1,
		Detail: fmt.Sprintf("%d status-tree requests for %d polls over %d runs (and %d one-off reads of monitors and providers for the Auto settle window); at most %d request(s) to one load balancer at one instant",
			requests, polls, len(rs), once, same)}
}

// costFlat checks that the shared Poller's requests do not grow with the
// number of waiters: many waiters on one member (S2b) cost at most
// flatTolerance times what one waiter costs with the same seeds (S1).
func costFlat(one, many []*Run) Claim {
	n := min(len(one), len(many))
	var a, b float64
	for i := range n {
		a += float64(len(one[i].Requests))
		b += float64(len(many[i].Requests))
	}
	waiters := 0
	if len(many) > 0 {
		waiters = len(many[0].Cases)
	}
	return Claim{Name: costFlatName + fmt.Sprintf(" (%d waiters on one member ≤ %.1f× one waiter)", waiters, flatTolerance),
		Pass:   n > 0 && b <= flatTolerance*a,
		Detail: fmt.Sprintf("%.0f requests per run for %d waiters vs %.0f for one (S1, same seeds): %s", b/float64(max(n, 1)), waiters, a/float64(max(n, 1)), ratio(b, a))}
}

// costFlatName starts the name of the S2b cost target.
const costFlatName = "S2b: the shared Poller's requests do not grow with the number of waiters"

// flatTolerance allows the shared schedule to follow the most impatient
// waiter's jitter rather than one waiter's.
const flatTolerance = 1.2

// failsAtFirstPoll checks that every wait failed with a MemberError at the
// first poll after the member went ERROR: no request was sent between the
// ERROR and the deciding poll.
func failsAtFirstPoll(name string, rs []*Run, errorAt time.Duration) Claim {
	good := 0
	var after []time.Duration
	for _, r := range rs {
		o := r.Outcomes[0]
		var me *memberwait.MemberError
		first := errors.As(o.Err, &me)
		for _, q := range r.Requests {
			if q.At >= errorAt && q.At < o.At {
				first = false
			}
		}
		if first {
			good++
		}
		after = append(after, o.At-errorAt)
	}
	p99, _ := percentile(after, 99)
	return Claim{Name: "S3: " + name + " reports the member ERROR within one poll interval",
		Pass:   len(rs) > 0 && good == len(rs),
		Detail: fmt.Sprintf("failed at the first poll after the ERROR in %d/%d runs; p99 %s after it", good, len(rs), seconds(p99))}
}

// headline compares each peer with memberwait on the figures users choose by.
func headline(strategies []Strategy, res Results) Table {
	t := Table{Header: []string{"peer", "reports success on a member that does not serve (S1 / S3 / S7)", "noisy API (S4)",
		"requests per wait, S1: peer vs memberwait", "requests per run, S2: peer vs shared memberwait",
		"from the member's ERROR to a failure, S3 p50: peer vs memberwait", "from the member's ACTIVE to seeing it, S6 p50: peer vs memberwait"}}
	mw, shared := keyMemberwait, keyMemberwaitShared
	reqP50 := func(id, key string) int {
		n, _ := percentile(requestsPerRun(res[id][key]), 50)
		return n
	}
	perRun := func(id, key string) float64 {
		rs := res[id][key]
		n := 0
		for _, r := range rs {
			n += len(r.Requests)
		}
		return float64(n) / float64(max(len(rs), 1))
	}
	errP50 := func(key string) (time.Duration, bool) {
		return percentile(collect(samplesOf(res["S3"][key]), func(s sample) (time.Duration, bool) { return s.o.At - s3ErrorAt, !s.o.OK }), 50)
	}
	for _, st := range strategies {
		if st.IsMemberwait() {
			continue
		}
		wrong := ""
		for i, id := range []string{"S1", "S3", "S7"} {
			ss := samplesOf(res[id][st.Key])
			if i > 0 {
				wrong += " / "
			}
			wrong += fmt.Sprintf("%d/%d", count(ss, Early), len(ss))
		}
		a, b := reqP50("S1", st.Key), reqP50("S1", mw)
		c, d := perRun("S2", st.Key), perRun("S2", shared)
		failed := "never (reports success)"
		if pe, ok := errP50(st.Key); ok {
			pm, _ := errP50(mw)
			failed = fmt.Sprintf("%s vs %s (%s)", seconds(pe), seconds(pm), ratio(float64(pe), float64(pm)))
			if pr := samplesOf(res["S3"][st.Key]); countTimeouts(pr) > 0 {
				failed += ", when its budget runs out"
			}
		}
		if n := count(samplesOf(res["S3"][st.Key]), Early); n > 0 && n < len(samplesOf(res["S3"][st.Key])) {
			failed += fmt.Sprintf("; success on ERROR in %d runs", n)
		}
		seen := "never reads the member"
		if readsMember(st) {
			pe, _ := percentile(collect(samplesOf(res["S6"][st.Key]), noticeActive), 50)
			pm, _ := percentile(collect(samplesOf(res["S6"][mw]), noticeActive), 50)
			seen = fmt.Sprintf("%s vs %s (%s)", seconds(pe), seconds(pm), ratio(float64(pe), float64(pm)))
		}
		t.Add(st.Name, wrong, summary(samplesOf(res["S4"][st.Key]), servesLabels),
			fmt.Sprintf("%d vs %d (%s)", a, b, ratio(float64(a), float64(b))),
			fmt.Sprintf("%.0f vs %.0f (%s)", c, d, ratio(c, d)), failed, seen)
	}
	return t
}

// countTimeouts counts waits that ended on the strategy's own budget.
func countTimeouts(ss []sample) int {
	n := 0
	for _, s := range ss {
		if s.o.Timeout {
			n++
		}
	}
	return n
}
