package controllers

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/membergate/membergate/pkg/memberwait"
)

// snapshotCache remembers each load balancer's last observation and when
// its members' verdicts asked to look again. Reconciles come far more often
// than the members change — every Machine status update CAPI makes, every
// patch of our own — and without it each would read Octavia: a rollout cost
// ~1.8 status reads per second per cluster. With it, Octavia is read once
// per poll of memberwait's schedule, or at once when the control-plane
// Machines change (a new Machine's member is worth looking for now).
type snapshotCache struct {
	mu      sync.Mutex
	entries map[string]cachedSnapshot
}

type cachedSnapshot struct {
	snap        *memberwait.Snapshot
	at, due     time.Time
	fingerprint string
}

// observeOrReuse returns the remembered observation of the load balancer
// while it is due for no new poll and the Machines are as they were;
// otherwise it reads Octavia. fresh says which.
func (r *GateReconciler) observeOrReuse(ctx context.Context, t Target, machines []clusterv1.Machine, now time.Time) (snap *memberwait.Snapshot, at time.Time, fresh bool, err error) {
	r.snapshots.mu.Lock()
	e, ok := r.snapshots.entries[t.LoadBalancerID]
	r.snapshots.mu.Unlock()
	if ok && now.Before(e.due) && e.fingerprint == fingerprint(machines) {
		return e.snap, e.at, false, nil
	}
	snap, at, err = r.observeFresh(ctx, t, machines)
	return snap, at, true, err
}

// observeFresh reads Octavia and remembers a good answer.
func (r *GateReconciler) observeFresh(ctx context.Context, t Target, machines []clusterv1.Machine) (*memberwait.Snapshot, time.Time, error) {
	snap, err := r.observe(ctx, t)
	at := r.Clock.Now()
	r.snapshots.mu.Lock()
	defer r.snapshots.mu.Unlock()
	if r.snapshots.entries == nil {
		r.snapshots.entries = map[string]cachedSnapshot{}
	}
	if err != nil {
		// A failed read says nothing: the next reconcile tries again.
		delete(r.snapshots.entries, t.LoadBalancerID)
		return snap, at, err
	}
	r.snapshots.entries[t.LoadBalancerID] = cachedSnapshot{snap: snap, at: at, due: at, fingerprint: fingerprint(machines)}
	return snap, at, nil
}

// rememberDue records when the verdicts on the observation made at asked to
// look again.
func (r *GateReconciler) rememberDue(lbID string, at time.Time, after time.Duration) {
	r.snapshots.mu.Lock()
	defer r.snapshots.mu.Unlock()
	if after <= 0 || after > Resync {
		// Nothing pending: the periodic resync is the next poll.
		after = Resync
	}
	if e, ok := r.snapshots.entries[lbID]; ok && e.at.Equal(at) {
		e.due = at.Add(after)
		r.snapshots.entries[lbID] = e
	}
}

// fingerprint identifies the control-plane Machines as far as their members
// go: which exist, which are deleting, their addresses.
func fingerprint(machines []clusterv1.Machine) string {
	parts := make([]string, 0, len(machines))
	for _, m := range machines {
		var addrs []string
		for _, a := range m.Status.Addresses {
			addrs = append(addrs, a.Address)
		}
		sort.Strings(addrs)
		parts = append(parts, m.Name+"|"+boolString(!m.DeletionTimestamp.IsZero())+"|"+strings.Join(addrs, ","))
	}
	sort.Strings(parts)
	return strings.Join(parts, ";")
}

func boolString(b bool) string {
	if b {
		return "deleting"
	}
	return "live"
}
