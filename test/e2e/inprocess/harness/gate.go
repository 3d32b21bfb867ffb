package harness

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/membergate/membergate/controllers"
	"github.com/membergate/membergate/internal/cloud/scope"
)

// Gate is one gate process: a manager of its own — its own cache, client,
// REST mapper and event recorder, as the gate's Deployment has in
// production, apart from CAPI's controllers — hosting a GateReconciler
// whose DevLocator gates only the clusters that chose this gate
// (ClusterSpec.Gate). It can be killed and started again without touching
// anything else. A gate may run as replicas (StartGateReplicas), several
// processes of one name that elect their leader as cmd/manager's replicas
// do.
type Gate struct {
	// Name is the gate's name; "" is the shared default gate.
	Name string
	// Replica is the process's identity among the replicas of its gate
	// (StartGateReplicas): the holder identity it writes in the Lease.
	// "" for a gate run alone, without leader election.
	Replica string

	h *Harness
	// election is how the replicas take turns; nil without leader
	// election.
	election *LeaderElection
	mu       sync.Mutex
	// stop and done are set while the gate runs: stop cancels its
	// manager's context, done reports the manager's end.
	stop context.CancelFunc
	done chan error
	wire *onTheWire
	// elected is the running manager's Elected channel.
	elected <-chan struct{}
}

// gateKey names a gate process: a gate's name and, for a replica, its
// identity.
type gateKey struct{ name, replica string }

// StartGate starts a new gate process named name, for the clusters created
// with ClusterSpec.Gate = name (see Start). Names are unique within a
// harness.
func (h *Harness) StartGate(name string) (*Gate, error) {
	gs, err := h.startGates(name, []*Gate{{Name: name, h: h}})
	if err != nil {
		return nil, err
	}
	return gs[0], nil
}

// startGates registers the processes of a new gate named name and starts
// them in order; on an error it kills those it started and forgets them
// all.
func (h *Harness) startGates(name string, gs []*Gate) ([]*Gate, error) {
	h.gatesMu.Lock()
	for k := range h.gates {
		if k.name == name {
			h.gatesMu.Unlock()
			return nil, fmt.Errorf("gate %q exists already", name)
		}
	}
	if h.gates == nil {
		h.gates = map[gateKey]*Gate{}
	}
	for _, g := range gs {
		h.gates[gateKey{name, g.Replica}] = g
	}
	h.gatesMu.Unlock()
	for _, g := range gs {
		if err := g.Start(); err != nil {
			errs := []error{err}
			for _, started := range gs {
				errs = append(errs, started.Kill())
			}
			h.gatesMu.Lock()
			for _, g := range gs {
				delete(h.gates, gateKey{name, g.Replica})
			}
			h.gatesMu.Unlock()
			return nil, errors.Join(errs...)
		}
	}
	return gs, nil
}

// Start starts the gate process afresh, as a new pod after a restart: a
// brand-new manager (empty caches) and a brand-new GateReconciler (no
// remembered observation, no memberwait progress but what the MemberGate
// status holds). It returns once the manager's cache runs; the controller
// reconciles as soon as its own watches have synced, a moment later.
// A replica's controller reconciles only once it leads (Elected).
func (g *Gate) Start() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stop != nil {
		return fmt.Errorf("gate %q is running", g.Name)
	}
	wire := &onTheWire{}
	cfg := rest.CopyConfig(g.h.Config)
	cfg.Wrap(wire.wrap)
	mgr, err := newGateManager(cfg, g.leaderElection())
	if err != nil {
		return fmt.Errorf("gate %q: %w", g.Name, err)
	}
	// The configuration the gate has always had here; only the locator
	// knows which clusters are this gate's.
	r := &controllers.GateReconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("membergate"),
		Sources:  &scope.SecretSources{Client: mgr.GetAPIReader(), Budget: rate.Inf, Burst: 10},
		Locator:  DevLocator{Gate: g.Name},
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up gate %q: %w", g.Name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	syncCtx, cancelSync := context.WithTimeout(ctx, time.Minute)
	defer cancelSync()
	if !mgr.GetCache().WaitForCacheSync(syncCtx) {
		cancel()
		return errors.Join(fmt.Errorf("the cache of gate %q did not start within a minute", g.Name), <-done)
	}
	g.stop, g.done, g.wire, g.elected = cancel, done, wire, mgr.Elected()
	return nil
}

// Elected is closed once the running process leads its gate's replicas
// and its GateReconciler runs (at once for a gate without leader
// election). It is nil while the process does not run, and a process
// started again has a new one.
func (g *Gate) Elected() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.elected
}

// Kill ends the gate process and waits for its manager to end. Everything
// the gate held in memory — the remembered observation of each load
// balancer, the Octavia clients, memberwait's progress between status
// writes — is lost, as with a killed pod; what survives is what it wrote
// to the API server (hooks, conditions, the MemberGate status).
//
// An in-process kill is a cancelled context: the manager stops its
// controller, whose in-flight reconcile runs on that same context, so its
// requests to the API server and to Octavia are aborted (a write already on
// the wire may still be applied, as with a real kill: Kill returns once the
// API server has answered it, see onTheWire). No graceful
// shutdown logic of the gate itself runs, because it has none:
// controllers.GateReconciler registers only its controller
// (SetupWithManager), no Runnable, no shutdown hook, and Reconcile never
// watches for its context's end to tidy up — it just fails. (The only
// things controller-runtime still does on the way out are its own: waiting
// for that reconcile to return and flushing the event recorder's queue.)
// A leading replica keeps its Lease unless its LeaderElection says
// ReleaseOnCancel: controller-runtime goes on renewing it until the
// manager's runnables, the reconciler first, have returned (the ends of a
// real crash and of this kill differ by that moment), then stops without
// releasing it, and the other replicas wait for it to expire.
// Killing a gate that does not run does nothing.
func (g *Gate) Kill() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stop == nil {
		return nil
	}
	g.stop()
	done, wire := g.done, g.wire
	g.stop, g.done, g.wire, g.elected = nil, nil, nil, nil
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("gate %q: %w", g.Name, err)
		}
	case <-time.After(45 * time.Second):
		return fmt.Errorf("gate %q did not stop within 45 s", g.Name)
	}
	// A write the gate sent before the kill may still land; wait until it
	// has, or has been refused (see onTheWire).
	return wire.drain(45 * time.Second)
}

// newGateManager builds a gate process's manager: the same scheme as the
// rest of the harness, no metrics or probe endpoints, leader election only
// when election says so (le: see LeaderElection), and otherwise
// cmd/manager's defaults (the gate reads Secrets with its API reader, so
// they are not cached).
func newGateManager(cfg *rest.Config, le *leaderElection) (ctrl.Manager, error) {
	opts := ctrl.Options{
		Scheme:                 newScheme(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// Every gate process registers a controller named "membergate".
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	}
	if le != nil {
		lock, err := le.lock(cfg)
		if err != nil {
			return nil, err
		}
		opts.LeaderElection = true
		opts.LeaderElectionID = le.lease.Name
		opts.LeaderElectionNamespace = le.lease.Namespace
		opts.LeaderElectionResourceLockInterface = lock
		opts.LeaderElectionReleaseOnCancel = le.ReleaseOnCancel
		opts.LeaseDuration = ptr.To(le.LeaseDuration)
		opts.RenewDeadline = ptr.To(le.RenewDeadline)
		opts.RetryPeriod = ptr.To(le.RetryPeriod)
	}
	return ctrl.NewManager(rest.CopyConfig(cfg), opts)
}

// stopGates kills every gate process.
func (h *Harness) stopGates() error {
	h.gatesMu.Lock()
	gates := make([]*Gate, 0, len(h.gates))
	for _, g := range h.gates {
		gates = append(gates, g)
	}
	h.gatesMu.Unlock()
	var errs []error
	for _, g := range gates {
		errs = append(errs, g.Kill())
	}
	return errors.Join(errs...)
}
