package main

import (
	"context"
	"fmt"
	"io"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/membergate/membergate/internal/resolve"
	"github.com/membergate/membergate/internal/waitreport"
	"github.com/membergate/membergate/pkg/memberwait"
	"github.com/spf13/cobra"
)

// waitRun is what a wait found out, for the report.
type waitRun struct {
	lb       *waitreport.LoadBalancer
	results  []memberwait.Result
	requests *requestCounter
}

func (c *cli) newWaitCmd() *cobra.Command {
	cfg := &waitConfig{}
	cmd := &cobra.Command{
		Use:     "wait --loadbalancer ID|NAME (--member SELECTOR... | --all) [flags]",
		Short:   "Wait until pool members are provisioned, serving or gone",
		Long:    waitLong,
		Example: waitExample,
		Args:    noArgs("flags only; repeat --member for several members"),
		RunE: runE(func(cmd *cobra.Command) error {
			if err := cfg.check(); err != nil {
				return err
			}
			cfg.osCloud = c.osCloud(cmd, cfg.osCloud)
			return c.wait(cmd.Context(), cfg)
		}),
		Annotations: map[string]string{annotationExitCodes: exitCodesHelp},
	}
	c.addWaitFlags(cmd, cfg)
	return cmd
}

// wait runs a wait and reports it: as a summary, or as the one JSON
// document of --output json, which carries the error in place of stderr.
func (c *cli) wait(ctx context.Context, cfg *waitConfig) error {
	start := c.clock.Now()
	wr := &waitRun{}
	err := c.runWait(ctx, cfg, wr)
	rep := waitreport.New(cfg.target, wr.lb, wr.results, err, c.clock.Since(start), wr.requests.count())
	if cfg.json {
		if werr := waitreport.WriteJSON(c.stdout, rep); werr != nil {
			return werr
		}
		if err != nil {
			return exitStatus(exitCode(err))
		}
		return nil
	}
	// With nothing observed the error on stderr is the whole story; a
	// success with nothing to observe (--all --for gone on an empty load
	// balancer) still says so.
	if len(rep.Members) > 0 || err == nil {
		rep.WriteText(c.stdout)
	}
	return err
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
		fmt.Fprintln(w, waitreport.Starting(len(t.Members), *wr.lb, cfg.target, cfg.startingSettle(), cfg.timeout))
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
