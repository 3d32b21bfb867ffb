package main

import (
	"context"
	"fmt"
	"io"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/membergate/membergate/internal/resolve"
	"github.com/membergate/membergate/internal/waitreport"
	"github.com/membergate/membergate/pkg/memberwait"
)

// waitRun is what a wait found out, for the report.
type waitRun struct {
	lb       *waitreport.LoadBalancer
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
	wr := &waitRun{}
	err = c.runWait(ctx, cfg, wr)
	rep := waitreport.New(cfg.target, wr.lb, wr.results, err, c.clock.Since(start), wr.requests.count())
	if cfg.json {
		if werr := waitreport.WriteJSON(c.stdout, rep); werr != nil {
			return c.fail(werr)
		}
		return exitCode(err)
	}
	// With nothing observed the error on stderr is the whole story; a
	// success with nothing to observe (--all --for gone on an empty load
	// balancer) still says so.
	if len(rep.Members) > 0 || err == nil {
		rep.WriteText(c.stdout)
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

	src := source(cfg.source, sc)
	t, err := resolve.Resolve(ctx, c.clock, sc, memberwait.WithClock(src, c.clock), resolve.Query{
		LoadBalancer: cfg.loadBalancer, Pool: cfg.pool, Members: cfg.members, All: cfg.all,
		NoneOK: cfg.target == memberwait.Gone, // nothing left to go is the goal
	})
	if t.LoadBalancer != nil {
		wr.lb = &waitreport.LoadBalancer{ID: t.LoadBalancer.ID, Name: t.LoadBalancer.Name}
	}
	if err != nil || len(t.Members) == 0 {
		return err
	}

	opts := cfg.memberwaitOptions()
	opts.Clock = c.clock
	if !cfg.json {
		w := c.progressWriter()
		fmt.Fprintln(w, waitreport.Starting(len(t.Members), *wr.lb, cfg.target, cfg.settle, cfg.timeout))
		opts.OnUpdate = waitreport.NewProgress(c.clock, c.clock.Now(), waitreport.Lines(w)).Update
	}
	// One Poller for all the members: one request per poll for all of them.
	wr.results, err = memberwait.NewPoller(src, c.clock).Wait(ctx, t.LoadBalancer.ID, t.Members, opts)
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
