// Command memberwait-demo plays, on an embedded Octavia emulator, why
// waiting for a load balancer to be ACTIVE is not enough when Cluster API
// adds a control-plane Machine behind an amphorav2 load balancer, and what
// memberwait waits for instead. "make demo-wait" runs it; it takes seconds.
//
// It lives under test/ because it compiles the emulator: the membergate
// binary that operators run carries no test code.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/membergate/membergate/internal/waitreport"
	"github.com/membergate/membergate/pkg/memberwait/vclock"
	"github.com/spf13/pflag"
)

const (
	defaultSpeed = 10
	maxSpeed     = 100000
)

// Exit codes.
const (
	exitReached = 0 // memberwait saw the new member serve
	exitFailure = 1 // the demo or memberwait failed
	exitUsage   = 2 // bad flags
)

const usageHead = `Usage:
  memberwait-demo [--speed N] [--output text|json]

Plays, on an embedded Octavia emulator, what happens when Cluster API adds a
control-plane Machine behind CAPO's API server load balancer with the
amphorav2 provider: the load balancer is ACTIVE again after 0.7 s, while the
new member stays PENDING_CREATE for 20 s and turns ONLINE only at 30 s. An
LB-only waiter (CAPO <= v0.13) goes on at 0.7 s; memberwait returns only when
the member has served for the settle window. Times are virtual seconds of a
clock that runs --speed times faster than real time.

Flags:
`

// config is a parsed command line.
type config struct {
	speed  float64
	output string // text or json
	json   bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command; main only wires it to the process, so tests
// call it in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parse(args)
	if errors.Is(err, pflag.ErrHelp) {
		fmt.Fprint(stdout, usageHead+flags(&config{}).FlagUsages())
		return exitReached
	}
	if err != nil {
		fmt.Fprintf(stderr, "memberwait-demo: %v\nRun \"memberwait-demo --help\" for usage.\n", err)
		return exitUsage
	}

	d := &demoRun{cfg: *cfg, clk: vclock.NewScaled(time.Now(), cfg.speed), realStart: time.Now()}
	if !cfg.json {
		d.out = stdout
	}
	err = d.run(ctx)
	rep := d.report(err)
	if cfg.json {
		if werr := waitreport.WriteJSON(stdout, rep); werr != nil {
			fmt.Fprintf(stderr, "memberwait-demo: %v\n", werr)
			return exitFailure
		}
	} else {
		rep.writeSummary(d.out)
	}
	if err != nil {
		if !cfg.json {
			fmt.Fprintf(stderr, "memberwait-demo: %v\n", err)
		}
		return exitFailure
	}
	return exitReached
}

func flags(cfg *config) *pflag.FlagSet {
	fs := pflag.NewFlagSet("memberwait-demo", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.SetOutput(io.Discard) // run prints usage and errors where they belong
	fs.Usage = func() {}
	fs.Float64Var(&cfg.speed, "speed", defaultSpeed, "the demo clock's speed: `N` times faster than real time, at most 100000")
	fs.StringVar(&cfg.output, "output", "text", "`text|json`: a live timeline and a summary, or one JSON document at the end")
	return fs
}

func parse(args []string) (*config, error) {
	cfg := &config{}
	fs := flags(cfg)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected argument %q: the demo takes flags only", fs.Arg(0))
	case cfg.output != "text" && cfg.output != "json":
		return nil, fmt.Errorf("invalid argument %q for \"--output\" flag: want text or json", cfg.output)
	case cfg.speed <= 0 || cfg.speed > maxSpeed:
		return nil, fmt.Errorf("invalid argument %v for \"--speed\" flag: want more than 0 and at most %d", cfg.speed, maxSpeed)
	}
	cfg.json = cfg.output == "json"
	return cfg, nil
}
