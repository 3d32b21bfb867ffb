package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/membergate/membergate/pkg/memberwait"
)

// waitRun is what a wait found out, for the report.
type waitRun struct {
	lb       *lbReport
	members  []memberwait.Member
	results  []memberwait.Result
	requests *requestCounter
}

func (c *cli) wait(ctx context.Context, args []string) int {
	cfg, help, err := c.waitFlags(args)
	switch {
	case help:
		return exitReached
	case err != nil:
		code := c.fail(err)
		fmt.Fprintln(c.stderr, `Run "membergate wait --help" for usage.`)
		return code
	}

	start := c.clock.Now()
	wr := &waitRun{members: cfg.members}
	err = c.runWait(ctx, cfg, wr)
	// Report only the members that were judged: a wait that failed before
	// its first poll (bad credentials, no Octavia, an unknown load
	// balancer) knows nothing of its members, and a row for each would
	// claim an outcome for members nobody looked at.
	var observed []memberwait.Result
	for _, r := range wr.results {
		if !r.Verdict.At.IsZero() {
			observed = append(observed, r)
		}
	}
	rep := newWaitReport(cfg, wr.lb, observed, err, c.clock.Since(start), wr.requests.count())
	if cfg.json {
		if werr := writeJSON(c.stdout, rep); werr != nil {
			return c.fail(werr)
		}
		return exitCode(err)
	}
	// With nothing observed the error on stderr is the whole story; a
	// success with nothing to observe (--all --for gone on an empty load
	// balancer) still says so.
	if len(observed) > 0 || err == nil {
		rep.writeText(c.stdout)
	}
	if err != nil {
		return c.fail(err)
	}
	return exitReached
}

// runWait authenticates, resolves the selectors and waits, filling wr as it
// goes so that the report says how far it got.
func (c *cli) runWait(ctx context.Context, cfg *waitConfig, wr *waitRun) error {
	sc, counter, err := c.loadBalancerClient(ctx, cfg)
	if err != nil {
		return err
	}
	wr.requests = counter

	lb, err := findLoadBalancer(ctx, c.clock, sc, cfg.loadBalancer)
	if err != nil {
		return err
	}
	wr.lb = &lbReport{ID: lb.ID, Name: lb.Name}

	poolID := ""
	if cfg.pool != "" {
		if poolID, err = findPool(ctx, c.clock, sc, lb.ID, cfg.pool); err != nil {
			return err
		}
		for i := range wr.members {
			wr.members[i].PoolID = poolID
		}
	}

	src := source(cfg.source, sc)
	if cfg.all {
		if wr.members, err = allMembers(ctx, c.clock, memberwait.WithClock(src, c.clock), lb.ID, poolID); err != nil {
			return err
		}
		if len(wr.members) == 0 {
			if cfg.target == memberwait.Gone {
				return nil // nothing left to go
			}
			where := "load balancer " + lbLabel(lb.Name, lb.ID)
			if cfg.pool != "" {
				where = "pool " + cfg.pool + " of " + where
			}
			return &lookupError{msg: where + " has no members"}
		}
	}

	opts := cfg.memberwaitOptions()
	opts.Clock = c.clock
	if !cfg.json {
		w := c.progressWriter()
		fmt.Fprintf(w, "waiting for %s of load balancer %s to be %s (%s)\n",
			countMembers(len(wr.members)), lbLabel(lb.Name, lb.ID), strings.ToLower(cfg.target.String()), waitSettings(cfg))
		opts.OnUpdate = newProgress(c.clock, c.clock.Now(), printProgress(w)).update
	}
	// One Poller for all the members: one request per poll for all of them.
	wr.results, err = memberwait.NewPoller(src, c.clock).Wait(ctx, lb.ID, wr.members, opts)
	return err
}

// progressWriter is where live progress goes: the terminal when stdout is
// one, else stderr, so that stdout carries only the result.
func (c *cli) progressWriter() io.Writer {
	if c.terminal {
		return c.stdout
	}
	return c.stderr
}

func source(name string, sc *gophercloud.ServiceClient) memberwait.Source {
	if name == "pool-members" {
		return memberwait.PoolMembers(sc)
	}
	return memberwait.StatusTree(sc)
}

func countMembers(n int) string {
	if n == 1 {
		return "1 member"
	}
	return fmt.Sprintf("%d members", n)
}

func waitSettings(cfg *waitConfig) string {
	var parts []string
	if cfg.target == memberwait.Serving {
		parts = append(parts, "settle window "+cfg.settle.String())
	}
	if cfg.timeout > 0 {
		parts = append(parts, "timeout "+cfg.timeout.String())
	} else {
		parts = append(parts, "no timeout")
	}
	return strings.Join(parts, ", ")
}
