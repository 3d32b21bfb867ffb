package inprocess

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/membergate/membergate/test/e2e/inprocess/harness"
)

// The amphorav2 quirk, shrunk to keep the test short: real Octavia keeps a
// new member PENDING_CREATE for ~45 s and reports it ONLINE ~10 s later; the
// gate's default settle window is 45 s. The proportions that matter stay:
// CAPI replaces a Machine faster than the member starts serving, so without
// the gate the old member goes first.
const (
	quirkPending = 12 * time.Second
	quirkOnline  = 3 * time.Second
	settleWindow = 3 * time.Second
	replicas     = 3
)

// rollouts collects every scenario's figures for the summary.
var rollouts struct {
	sync.Mutex
	list []*harness.Rollout
}

func TestRollout(t *testing.T) {
	t.Parallel()
	t.Cleanup(func() { logFigures(t) })
	for _, tc := range []struct {
		name     string
		gated    bool
		maxSurge int32
		noDrain  bool
	}{
		{"gated-maxsurge-1", true, 1, false},
		{"gated-maxsurge-0", true, 0, false},
		{"gated-maxsurge-1-nodrain", true, 1, true},
		{"ungated-maxsurge-1", false, 1, false},
		{"ungated-maxsurge-0", false, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
			defer cancel()
			spec := harness.ClusterSpec{Namespace: tc.name, Name: "cp", Replicas: replicas, Ungated: !tc.gated, SettleWindow: settleWindow}
			if tc.noDrain {
				spec.DrainPeriod = -1
			}
			c, err := h.CreateCluster(ctx, spec)
			g.Expect(err).NotTo(HaveOccurred())

			r, err := c.Rollout(ctx, harness.RolloutSpec{MaxSurge: tc.maxSurge, Script: harness.Amphorav2(quirkPending, quirkOnline)})
			g.Expect(err).NotTo(HaveOccurred())
			r.NoDrain = tc.noDrain
			rollouts.Lock()
			rollouts.list = append(rollouts.list, r)
			rollouts.Unlock()
			rec := r.Recording
			t.Logf("rolled out in %s (all members serving at %s); fewest serving members %d (required %d) at %s",
				r.Duration.Round(time.Second), r.Served.Round(time.Second), rec.MinServing, rec.Required, rec.MinAt)
			logTimelines(t, rec)
			g.Expect(rec.Errors).To(BeZero(), "the sampler could not read the cluster")
			g.Expect(rec.Samples).To(BeNumerically(">", int(r.Duration/(200*time.Millisecond))), "the sampler fell behind")
			g.Expect(oldMachinesReplaced(rec)).To(Equal(replicas), "every old Machine is gone")

			if !tc.gated {
				// Without the gate CAPI deletes an old Machine while its
				// replacement's member is still PENDING_CREATE: the API load
				// balancer loses a serving member it needed. If this fails,
				// the scenario no longer reproduces the outage and proves
				// nothing about the gate.
				g.Expect(rec.MinServing).To(BeNumerically("<", rec.Required),
					"no drop without the gate: the scenario does not reproduce the outage")
				return
			}
			exposed := 0
			for _, m := range rec.Machines {
				if !m.Old {
					continue
				}
				if m.Exposed > 0 {
					exposed++
				}
				if !tc.noDrain {
					// Drained before the release: from then on, the load
					// balancer sends the old API server nothing new.
					g.Expect(m.Exposed).To(BeZero(), "%s's member was in rotation for %s after its hook was released", m.Name, m.Exposed)
				}
			}
			if tc.noDrain {
				// Without the drain the old member stays in rotation until
				// CAPO deletes it, after the drain and etcd removal: if this
				// fails, the scenario no longer shows what the drain is for.
				g.Expect(exposed).To(BeNumerically(">", 0), "no old member stayed in rotation after its release without the drain")
			}
			g.Expect(rec.Below).To(BeZero(), "serving members dropped below %d; first at %s", rec.Required, rec.FirstBelow)
			g.Expect(rec.MinServing).To(BeNumerically(">=", rec.Required))
			for _, hold := range rec.Holds() {
				if hold.Replacement == "" {
					continue // maxSurge=0: the first Machine goes before any replacement exists.
				}
				// The gate let the old Machine go only after the new member
				// had served for the settle window.
				g.Expect(hold.ReplacementServed).To(BeTrue(), "%s released before %s's member served", hold.Machine, hold.Replacement)
				g.Expect(hold.AfterServingMax).To(BeNumerically(">=", settleWindow),
					"%s released at most %s after %s's member began serving", hold.Machine, hold.AfterServingMax, hold.Replacement)
			}
		})
	}
}

func oldMachinesReplaced(rec harness.Recording) int {
	n := 0
	for _, m := range rec.Machines {
		if m.Old && !m.GoneAt.IsZero() {
			n++
		}
	}
	return n
}

// logFigures prints the figures of every rollout: time, holds, fewest
// serving members and Octavia requests.
func logFigures(t *testing.T) {
	rollouts.Lock()
	defer rollouts.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-32s %7s %7s %8s %6s %6s %6s  %s\n", "rollout", "done", "served", "min/req", "gate", "capo", "total",
		"per old Machine: held; released relative to its replacement's member serving; in rotation after the release")
	for _, r := range rollouts.list {
		var holds []string
		for _, hd := range r.Recording.Holds() {
			s := fmt.Sprintf("%s %.1fs", hd.Machine, hd.Held.Seconds())
			if hd.ReplacementServed {
				s += fmt.Sprintf(" (%+.1fs)", hd.AfterServing.Seconds())
			}
			s += fmt.Sprintf(" exposed %.1fs", hd.Exposed.Seconds())
			holds = append(holds, s)
		}
		fmt.Fprintf(&b, "%-32s %6.1fs %6.1fs %4d/%-3d %6d %6d %6d  %s\n", scenarioName(r), r.Duration.Seconds(), r.Served.Seconds(),
			r.Recording.MinServing, r.Recording.Required, r.GateRequests, r.CAPORequests, r.TotalRequests, strings.Join(holds, ", "))
	}
	t.Log(b.String())
}

func scenarioName(r *harness.Rollout) string {
	g := "ungated"
	if r.Gated {
		g = "gated"
	}
	if r.NoDrain {
		g += " (no drain)"
	}
	return fmt.Sprintf("%s maxSurge=%d", g, r.MaxSurge)
}

// logTimelines logs when each Machine was seen doing what, in seconds from
// the rollout's start.
func logTimelines(t *testing.T, rec harness.Recording) {
	at := func(tm time.Time) string {
		if tm.IsZero() {
			return "-"
		}
		return fmt.Sprintf("%.1f", tm.Sub(rec.Started).Seconds())
	}
	for _, m := range rec.Machines {
		t.Logf("%-9s old=%-5v seen=%-5s ready=%-5s serving=%-5s deleting=%-5s released=%-5s gone=%s",
			m.Name, m.Old, at(m.FirstSeen), at(m.Ready), at(m.MemberServing), at(m.DeletionSeen), at(m.HookReleased), at(m.GoneAt))
	}
}
