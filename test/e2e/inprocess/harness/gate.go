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
// anything else.
type Gate struct {
	// Name is the gate's name; "" is the shared default gate.
	Name string

	h  *Harness
	mu sync.Mutex
	// stop and done are set while the gate runs: stop cancels its
	// manager's context, done reports the manager's end.
	stop context.CancelFunc
	done chan error
	wire *onTheWire
}

// StartGate starts a new gate process named name, for the clusters created
// with ClusterSpec.Gate = name (see Start). Names are unique within a
// harness.
func (h *Harness) StartGate(name string) (*Gate, error) {
	h.gatesMu.Lock()
	if _, ok := h.gates[name]; ok {
		h.gatesMu.Unlock()
		return nil, fmt.Errorf("gate %q exists already", name)
	}
	g := &Gate{Name: name, h: h}
	if h.gates == nil {
		h.gates = map[string]*Gate{}
	}
	h.gates[name] = g
	h.gatesMu.Unlock()
	if err := g.Start(); err != nil {
		h.gatesMu.Lock()
		delete(h.gates, name)
		h.gatesMu.Unlock()
		return nil, err
	}
	return g, nil
}

// Start starts the gate process afresh, as a new pod after a restart: a
// brand-new manager (empty caches) and a brand-new GateReconciler (no
// remembered observation, no memberwait progress but what the MemberGate
// status holds). It returns once the manager's cache runs; the controller
// reconciles as soon as its own watches have synced, a moment later.
func (g *Gate) Start() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stop != nil {
		return fmt.Errorf("gate %q is running", g.Name)
	}
	wire := &onTheWire{}
	cfg := rest.CopyConfig(g.h.Config)
	cfg.Wrap(wire.wrap)
	mgr, err := newGateManager(cfg)
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
	g.stop, g.done, g.wire = cancel, done, wire
	return nil
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
// Killing a gate that does not run does nothing.
func (g *Gate) Kill() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stop == nil {
		return nil
	}
	g.stop()
	done, wire := g.done, g.wire
	g.stop, g.done, g.wire = nil, nil, nil
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
// rest of the harness, no metrics or probe endpoints, no leader election,
// and otherwise cmd/manager's defaults (the gate reads Secrets with its
// API reader, so they are not cached).
func newGateManager(cfg *rest.Config) (ctrl.Manager, error) {
	return ctrl.NewManager(rest.CopyConfig(cfg), ctrl.Options{
		Scheme:                 newScheme(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		LeaderElection:         false,
		// Every gate process registers a controller named "membergate".
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
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
