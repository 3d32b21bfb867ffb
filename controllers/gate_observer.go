package controllers

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/membergate/membergate/internal/cloud/scope"
	"github.com/membergate/membergate/internal/cloud/services/loadbalancer"
	"github.com/membergate/membergate/internal/statustext"
	"github.com/membergate/membergate/pkg/memberwait"
)

// snapshotCache remembers each load balancer's last observation and when
// its members' verdicts asked to look again. Reconciles come far more often
// than the members change — every Machine status update CAPI makes, every
// patch of our own — and without it each would read Octavia: a rollout cost
// ~1.8 status reads per second per cluster. With it, Octavia is read once
// per poll of memberwait's schedule, or at once when the control-plane
// Machines change (a new Machine's member is worth looking for now).
//
// Entries are the cluster's, never the load balancer's alone: the load
// balancer ID comes from the cluster's OpenStackCluster and the answer from
// the Octavia its identity reaches, both a tenant's to choose, so another
// cluster naming the same ID must not be served what this one observed
// (nor this one what another's Octavia said).
type snapshotCache struct {
	mu      sync.Mutex
	entries map[string]cachedSnapshot
}

type cachedSnapshot struct {
	// target is what was observed: a cluster whose load balancer or
	// identity changed observes afresh.
	target      scope.APIServerLoadBalancer
	snap        *memberwait.Snapshot
	at, due     time.Time
	fingerprint string
	// idle is set when the decision on snap left the cluster idle: the
	// next look is its idle look.
	idle bool
}

// octaviaObserver is the cycle's Observer for one reconcile: Octavia through
// the reconciler's snapshot cache.
type octaviaObserver struct {
	r        *GateReconciler
	cluster  types.NamespacedName
	target   scope.APIServerLoadBalancer
	machines []clusterv1.Machine
	// monitors asks for the pools' monitor parameters, which the Auto
	// settle window is derived from.
	monitors bool
	// idleAfter is the cluster's idle resync: a look due that long after
	// the last is its idle look.
	idleAfter time.Duration
}

// ObserveOrReuse implements cycle.Observer.
func (o *octaviaObserver) ObserveOrReuse(ctx context.Context, now time.Time) (snap *memberwait.Snapshot, at time.Time, fresh bool, err error) {
	c := &o.r.snapshots
	c.mu.Lock()
	e, ok := c.entries[o.cluster.String()]
	c.mu.Unlock()
	same := ok && e.target == o.target && e.fingerprint == fingerprint(o.machines)
	if same && now.Before(e.due) {
		return e.snap, e.at, false, nil
	}
	// An idle look needs no monitor parameters: every member served past
	// its settle window when last read, so one still serving has settled
	// whatever the window, and a member seen serving for the first time
	// (re-created, say) counts from now, settled under no window. The
	// cluster is then not idle, and the next look, within 30 s, reads the
	// monitors. So the idle look's status tree is the idle cluster's only
	// Octavia request; the monitors' cache would expire between idle
	// looks and add one every other look.
	snap, at, err = o.observe(ctx, o.monitors && !(same && e.idle))
	return snap, at, true, err
}

// ObserveFresh implements cycle.Observer: it reads Octavia and remembers a
// good answer.
func (o *octaviaObserver) ObserveFresh(ctx context.Context) (*memberwait.Snapshot, time.Time, error) {
	return o.observe(ctx, o.monitors)
}

func (o *octaviaObserver) observe(ctx context.Context, monitors bool) (*memberwait.Snapshot, time.Time, error) {
	snap, err := o.r.observe(ctx, o.target, monitors)
	// What Octavia answered goes into conditions and events: without its
	// raw body or a URL's credentials, and short.
	err = statustext.Wrap(err)
	at := o.r.Clock.Now()
	c := &o.r.snapshots
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]cachedSnapshot{}
	}
	if err != nil {
		// A failed read says nothing: the next reconcile tries again.
		delete(c.entries, o.cluster.String())
		return snap, at, err
	}
	c.entries[o.cluster.String()] = cachedSnapshot{target: o.target, snap: snap, at: at, due: at, fingerprint: fingerprint(o.machines)}
	return snap, at, nil
}

// Due implements cycle.Observer.
func (o *octaviaObserver) Due(at time.Time, after time.Duration) {
	c := &o.r.snapshots
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[o.cluster.String()]; ok && e.at.Equal(at) {
		e.due = at.Add(after)
		e.idle = o.idleAfter > 0 && after >= o.idleAfter
		c.entries[o.cluster.String()] = e
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

// observe reads the load balancer's status tree once, and the pools'
// monitors if asked (the source keeps them, so they cost a request only
// when one is new or changing).
func (r *GateReconciler) observe(ctx context.Context, target scope.APIServerLoadBalancer, monitors bool) (*memberwait.Snapshot, error) {
	src, err := r.Sources.Source(ctx, target.Identity)
	if err != nil {
		return nil, err
	}
	if monitors {
		src = withHealthMonitors{src}
	}
	return loadbalancer.NewService(loadbalancer.Clients{StatusTree: src}, nil).ObserveStatusTree(ctx, target.LoadBalancerID)
}

// forget drops what is remembered of a cluster that is gone or no longer
// gated.
func (c *snapshotCache) forget(cluster types.NamespacedName) {
	c.mu.Lock()
	delete(c.entries, cluster.String())
	c.mu.Unlock()
}

// withHealthMonitors asks its source for the pools' monitor parameters on
// every observation.
type withHealthMonitors struct{ memberwait.Source }

func (w withHealthMonitors) Observe(ctx context.Context, req memberwait.Request) (*memberwait.Snapshot, error) {
	req.HealthMonitors = true
	return w.Source.Observe(ctx, req)
}
