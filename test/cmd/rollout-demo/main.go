// Command rollout-demo replaces the control plane of a CAPI cluster while
// Octavia behaves as amphorav2 does, and shows, live, which Machines exist,
// their load-balancer members, and which Machine the gate holds and why.
//
// Everything runs in this process on the embedded default: a real
// kube-apiserver and etcd (envtest, built by hack/envtest/build.sh), the
// real Cluster API controllers on in-memory infrastructure, CAPO's own
// load-balancer member code, the Octavia emulator and membergate's gate.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/utils/clock"

	"github.com/membergate/membergate/test/e2e/inprocess/harness"
)

type config struct {
	replicas, maxSurge     int
	gate                   bool
	pending, online        time.Duration
	settle, alert, timeout time.Duration
	log                    string
	// plot is where the timeline picture goes; "-" for nowhere.
	plot string
}

func main() {
	var cfg config
	flag.IntVar(&cfg.replicas, "replicas", 3, "control-plane replicas")
	flag.IntVar(&cfg.maxSurge, "max-surge", 1, "KubeadmControlPlane rollout maxSurge (0 or 1)")
	flag.BoolVar(&cfg.gate, "gate", true, "gate the cluster; -gate=false shows the outage without membergate")
	flag.DurationVar(&cfg.pending, "pending", 12*time.Second, "how long a new member stays PENDING_CREATE (amphorav2: ~45s)")
	flag.DurationVar(&cfg.online, "online", 3*time.Second, "how long after ACTIVE a new member turns ONLINE (a heartbeat: ~10s)")
	flag.DurationVar(&cfg.settle, "settle", 3*time.Second, "the MemberGate's settle window (default in production: 45s)")
	flag.DurationVar(&cfg.alert, "alert-after", time.Minute, "the MemberGate's alert threshold")
	flag.DurationVar(&cfg.timeout, "timeout", 10*time.Minute, "give up after this long")
	flag.StringVar(&cfg.log, "log", "", "write the controllers' logs to this file")
	flag.StringVar(&cfg.plot, "plot", "", `write the timeline as SVG here (default: the repository's docs/img/rollout-gated.svg, or rollout-ungated.svg with -gate=false; "-": none)`)
	flag.Parse()
	if cfg.maxSurge != 0 && cfg.maxSurge != 1 {
		fmt.Fprintln(os.Stderr, "rollout-demo: -max-surge must be 0 or 1")
		os.Exit(2)
	}
	if cfg.plot == "" {
		path, err := defaultPlot(cfg.gate)
		if err != nil {
			fmt.Fprintln(os.Stderr, "rollout-demo: -plot:", err)
			os.Exit(2)
		}
		cfg.plot = path
	}
	began, err := runBegan(os.Getenv(t0Env), time.Now())
	if err != nil {
		fmt.Fprintln(os.Stderr, "rollout-demo:", err)
	}
	st := &steps{out: os.Stdout, clock: clock.RealClock{}, began: began}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, st); err != nil {
		fmt.Fprintln(os.Stderr, "rollout-demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config, st *steps) error {
	out := st.out
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	opts := harness.Options{}
	if cfg.log != "" {
		f, err := os.Create(cfg.log)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		opts.Log = f
	}
	st.printf("starting kube-apiserver and etcd (envtest), the CAPI controllers, the CAPO stand-in, the Octavia emulator and the gate…")
	start := st.clock.Now()
	h, err := harness.Start(opts)
	if err != nil {
		return err
	}
	// The envtest processes must not outlive the demo, however it ends.
	defer func() {
		start := st.clock.Now()
		if err := h.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "rollout-demo: stopping:", err)
			return
		}
		st.printf("stopped envtest and the controllers in %s", st.took(start))
	}()
	st.printf("started in %s; creating the cluster demo/cp (%d control-plane replicas, gate %s)…", st.took(start), cfg.replicas, onOff(cfg.gate))
	start = st.clock.Now()
	c, err := h.CreateCluster(ctx, harness.ClusterSpec{Namespace: "demo", Name: "cp", Replicas: int32(cfg.replicas),
		Ungated: !cfg.gate, SettleWindow: cfg.settle, AlertAfter: cfg.alert})
	if err != nil {
		return err
	}
	if err := bringUp(ctx, c, cfg.replicas, st); err != nil {
		return err
	}
	st.printf("control plane up in %s; the rollout starts", st.took(start))
	fmt.Fprintf(out, "\nRolling out the control plane (maxSurge=%d, gate %s). New members: PENDING_CREATE for %s, ONLINE %s after ACTIVE; settle window %s.\n",
		cfg.maxSurge, onOff(cfg.gate), cfg.pending, cfg.online, cfg.settle)
	fmt.Fprintf(out, "Members are named %s-%d-<machine>, as CAPO names them.\n\n", c.Cloud.LoadBalancerName, harness.APIServerPort)
	required := harness.Required(int32(cfg.replicas), int32(cfg.maxSurge))
	live, tl := newLive(out, required), &timeline{}
	r, err := c.Rollout(ctx, harness.RolloutSpec{MaxSurge: int32(cfg.maxSurge),
		Script: harness.Amphorav2(cfg.pending, cfg.online), Tick: 250 * time.Millisecond,
		OnSample: func(s harness.Snapshot) { live.sample(s); tl.sample(s) }})
	if err != nil {
		return err
	}
	st.printf("rollout done")
	summarize(out, r, cfg)
	if cfg.plot != "-" {
		if err := tl.writePlot(cfg.plot, cfg, required); err != nil {
			return fmt.Errorf("writing the timeline: %w", err)
		}
		fmt.Fprintln(out, "  timeline:                ", cfg.plot)
	}
	return nil
}

// bringUp waits for the cluster to be stable, printing progress on change.
func bringUp(ctx context.Context, c *harness.Cluster, replicas int, st *steps) error {
	last := ""
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		s, err := c.Snapshot(ctx)
		if err == nil {
			ready := 0
			for _, m := range s.Machines {
				if m.Ready {
					ready++
				}
			}
			line := fmt.Sprintf("bringing up the control plane: %d/%d Machines ready, members serving: %d", ready, replicas, s.Serving)
			if line != last {
				st.printf("%s", line)
				last = line
			}
			if c.Stable(s, replicas) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bringing up the control plane: %w", ctx.Err())
		case <-t.C:
		}
	}
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
