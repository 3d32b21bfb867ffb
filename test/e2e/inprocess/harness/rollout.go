package harness

import (
	"context"
	"fmt"
	"slices"
	"time"

	"k8s.io/utils/ptr"

	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
)

// poll is how often the waits below look.
const poll = 250 * time.Millisecond

// Stable tells whether a snapshot shows a settled control plane: replicas
// Machines, all Ready and not deleting, each with a serving member, no
// orphaned member, and — on a gated cluster — the gate counting them all
// member-ready.
func (c *Cluster) Stable(s Snapshot, replicas int) bool {
	if len(s.Machines) != replicas || s.Serving != replicas || len(s.Orphans) > 0 {
		return false
	}
	for _, m := range s.Machines {
		if !m.Ready || m.Deleting || !m.Member.Serving() {
			return false
		}
	}
	return !c.Gated || (s.GateMachines == int32(replicas) && s.GateMemberReady == int32(replicas))
}

// WaitStable waits until the cluster is Stable.
func (c *Cluster) WaitStable(ctx context.Context, replicas int) (Snapshot, error) {
	var last Snapshot
	err := c.waitFor(ctx, func(s Snapshot) bool {
		last = s
		return c.Stable(s, replicas)
	})
	if err != nil {
		return last, fmt.Errorf("cluster %s not stable: %w; last seen: %s", c.Name, err, last)
	}
	return last, nil
}

// waitFor polls snapshots until cond holds or ctx ends.
func (c *Cluster) waitFor(ctx context.Context, cond func(Snapshot) bool) error {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if s, err := c.Snapshot(ctx); err == nil && cond(s) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// WaitRolledOut waits until KCP reports every replica up to date and ready
// and none of the old Machines is left.
func (c *Cluster) WaitRolledOut(ctx context.Context, old []string, replicas int32) error {
	return c.waitFor(ctx, func(s Snapshot) bool {
		for _, m := range s.Machines {
			if slices.Contains(old, m.Name) {
				return false
			}
		}
		kcp, err := c.KubeadmControlPlane(ctx)
		if err != nil || kcp.Status.ObservedGeneration != kcp.Generation {
			return false
		}
		st := kcp.Status
		return ptr.Deref(st.Replicas, 0) == replicas && ptr.Deref(st.UpToDateReplicas, 0) == replicas && ptr.Deref(st.ReadyReplicas, 0) == replicas
	})
}

// Required is how many serving members a rollout must keep: all replicas
// with a surge, one fewer without (maxSurge=0 removes a Machine before it
// adds its replacement).
func Required(replicas, maxSurge int32) int {
	if maxSurge == 0 {
		return int(replicas) - 1
	}
	return int(replicas)
}

// RolloutSpec describes a rollout.
type RolloutSpec struct {
	MaxSurge int32
	// Script is how the new members behave (e.g. Amphorav2).
	Script octaviatest.MemberScript
	// Tick is the sampling period; default 100 ms.
	Tick time.Duration
	// OnSample sees every sample.
	OnSample func(Snapshot)
}

// Rollout is a finished rollout's figures.
type Rollout struct {
	Gated bool
	// NoDrain: the cluster's MemberGate turns draining off (the caller
	// says so, for the figures).
	NoDrain  bool
	MaxSurge int32
	Replicas int32
	// Duration is from the rollout's start until KCP reported every
	// replica up to date and ready; Served until every new member served.
	Duration, Served time.Duration
	Recording        Recording
	// Requests are the emulator's request counts during the rollout, by
	// operation; GateRequests those the gate sent (status trees and
	// Keystone), CAPORequests those of the CAPO stand-in.
	Requests                                  map[octaviatest.Operation]int
	GateRequests, CAPORequests, TotalRequests int
}

// Rollout replaces every control-plane Machine and records it: it waits
// for the cluster to be stable, starts the recorder, triggers the rollout,
// waits for KCP to finish and then for every new member to serve.
func (c *Cluster) Rollout(ctx context.Context, spec RolloutSpec) (*Rollout, error) {
	kcp, err := c.KubeadmControlPlane(ctx)
	if err != nil {
		return nil, err
	}
	replicas := ptr.Deref(kcp.Spec.Replicas, 1)
	before, err := c.WaitStable(ctx, int(replicas))
	if err != nil {
		return nil, err
	}
	var old []string
	for _, m := range before.Machines {
		old = append(old, m.Name)
	}
	if spec.Tick == 0 {
		spec.Tick = 100 * time.Millisecond
	}
	c.Cloud.Server.ResetCounters()
	rec := c.Record(ctx, Required(replicas, spec.MaxSurge), spec.Tick, spec.OnSample)
	defer rec.Stop()
	start := time.Now()
	if err := c.StartRollout(ctx, spec.MaxSurge, spec.Script); err != nil {
		return nil, err
	}
	r := &Rollout{Gated: c.Gated, MaxSurge: spec.MaxSurge, Replicas: replicas}
	if err := c.WaitRolledOut(ctx, old, replicas); err != nil {
		return nil, fmt.Errorf("rollout of %s did not finish: %w; last seen: %s", c.Name, err, rec.Last())
	}
	r.Duration = time.Since(start)
	if _, err := c.WaitStable(ctx, int(replicas)); err != nil {
		return nil, err
	}
	r.Served = time.Since(start)
	r.Recording = rec.Stop()
	r.Requests = c.Cloud.Server.Requests()
	for op, n := range r.Requests {
		r.TotalRequests += n
		if GateOperation(op) {
			r.GateRequests += n
		} else {
			r.CAPORequests += n
		}
	}
	return r, nil
}

// GateOperation tells the gate's requests from the CAPO stand-in's: the gate
// reads status trees (and authenticates); CAPO lists, gets and mutates.
func GateOperation(op octaviatest.Operation) bool {
	switch op {
	case octaviatest.OpGetLoadBalancerStatus, octaviatest.OpCreateToken, octaviatest.OpKeystoneV3, octaviatest.OpKeystoneVersions:
		return true
	}
	return false
}
