package main

import (
	"fmt"
	"io"
	"sort"

	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
	"github.com/membergate/membergate/test/e2e/inprocess/harness"
)

// summarize prints what the rollout cost and whether the API stayed served.
func summarize(out io.Writer, r *harness.Rollout, cfg config) {
	rec := r.Recording
	fmt.Fprintf(out, "\nSummary (gate %s, maxSurge=%d, %d replicas)\n", onOff(cfg.gate), r.MaxSurge, r.Replicas)
	fmt.Fprintf(out, "  rollout:                 %.1fs until KCP reported every replica up to date and ready; every new member serving at %.1fs\n",
		r.Duration.Seconds(), r.Served.Seconds())
	verdict := "the API load balancer never lacked a member it needed"
	if rec.MinServing < rec.Required {
		verdict = fmt.Sprintf("OUTAGE RISK: down to %d serving members; first at %s", rec.MinServing, rec.FirstBelow)
	}
	fmt.Fprintf(out, "  fewest serving members:  %d (required %d): %s\n", rec.MinServing, rec.Required, verdict)
	fmt.Fprintln(out, "  old Machines:")
	for _, h := range rec.Holds() {
		line := fmt.Sprintf("    %-12s held %5.1fs after KCP deleted it", h.Machine, h.Held.Seconds())
		switch {
		case h.Replacement == "":
			line += "; no replacement existed yet (maxSurge=0 removes first)"
		case h.ReplacementServed && h.AfterServing >= 0:
			line += fmt.Sprintf("; released %.1fs after %s's member began serving", h.AfterServing.Seconds(), h.Replacement)
		case h.ReplacementServed:
			line += fmt.Sprintf("; gone %.1fs BEFORE %s's member served", -h.AfterServing.Seconds(), h.Replacement)
		default:
			line += fmt.Sprintf("; %s's member never served while it was watched", h.Replacement)
		}
		fmt.Fprintln(out, line)
	}
	fmt.Fprintf(out, "  Octavia requests:        %d in all: gate %d (status trees, Keystone), CAPO stand-in %d\n",
		r.TotalRequests, r.GateRequests, r.CAPORequests)
	ops := make([]string, 0, len(r.Requests))
	for op := range r.Requests {
		ops = append(ops, string(op))
	}
	sort.Strings(ops)
	for _, op := range ops {
		fmt.Fprintf(out, "    %5d  %s\n", r.Requests[octaviatest.Operation(op)], op)
	}
}
