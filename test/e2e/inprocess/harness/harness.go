package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/core/setup"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/membergate/membergate/internal/testenv"
)

// Options configure a Harness.
type Options struct {
	// Log receives the controllers' logs; nil discards them.
	Log io.Writer
}

// Harness is a running management cluster: envtest, one manager with the
// CAPI controllers, the in-memory infrastructure and the CAPO stand-in,
// and the gate processes, each with a manager of its own (as the gate runs
// in its own Deployment): the default one, which gates every cluster that
// names no other, and those StartGate adds.
type Harness struct {
	// Client reads and writes the API server directly, without a cache.
	Client client.Client
	// Config reaches the API server.
	Config *rest.Config

	mgr     ctrl.Manager
	env     *envtest.Environment
	backend *inMemoryBackend
	clouds  *clouds
	stop    context.CancelFunc
	// done reports the manager's end; nil until it runs.
	done chan error
	// closeClusterCache ends the watches on the workload clusters, which
	// would otherwise keep the in-memory API servers from shutting down.
	closeClusterCache func()

	gatesMu sync.Mutex
	gates   map[gateKey]*Gate
}

// Start starts everything, the default gate included, and returns once the
// managers' caches are synced.
func Start(opts Options) (_ *Harness, err error) {
	setLogger(opts.Log)
	// The project's own kube-apiserver and etcd, and the CRDs the rollout
	// needs: CAPI core, KCP, kubeadm bootstrap, the Dev infrastructure, CAPO
	// (the gate watches OpenStackClusters) and MemberGate.
	root, err := testenv.RepoRoot()
	if err != nil {
		return nil, err
	}
	env, err := testenv.New(root, "", append(testenv.CAPISources, devInfraCRDs)...)
	if err != nil {
		return nil, err
	}
	h := &Harness{env: env, clouds: &clouds{}}
	if h.Config, err = env.Start(); err != nil {
		return nil, fmt.Errorf("starting envtest: %w", err)
	}
	defer func() {
		if err != nil {
			_ = h.Stop()
		}
	}()
	// The CAPI controllers and the sampler together make many requests.
	h.Config.QPS, h.Config.Burst = 200, 400
	scheme := newScheme()
	if h.Client, err = client.New(h.Config, client.Options{Scheme: scheme}); err != nil {
		return nil, err
	}
	if h.backend, err = startInMemoryBackend(); err != nil {
		return nil, err
	}
	if h.mgr, err = newManager(h.Config); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	if h.closeClusterCache, err = setupCAPI(ctx, h.mgr, h.backend); err != nil {
		return nil, err
	}
	if err := (&capoStandIn{client: h.mgr.GetClient(), clouds: h.clouds}).setupWithManager(h.mgr); err != nil {
		return nil, fmt.Errorf("setting up the CAPO stand-in: %w", err)
	}
	h.done = make(chan error, 1)
	go func() { h.done <- h.mgr.Start(ctx) }()
	syncCtx, cancelSync := context.WithTimeout(ctx, time.Minute)
	defer cancelSync()
	if !h.mgr.GetCache().WaitForCacheSync(syncCtx) {
		return nil, errors.New("the manager's caches did not sync within a minute")
	}
	if _, err := h.StartGate(""); err != nil {
		return nil, fmt.Errorf("starting the default gate: %w", err)
	}
	return h, nil
}

// newManager builds one manager for every CAPI controller (and the CAPO
// stand-in; the gate has its own, see newGateManager). CAPI's binaries each
// strip the data of Secrets they do not read from their cache; one manager
// hosting them all must keep it (KCP reads the cluster CA), so only the
// selection by cluster-name label is kept.
func newManager(cfg *rest.Config) (ctrl.Manager, error) {
	req, err := labels.NewRequirement(clusterv1.ClusterNameLabel, selection.Exists, nil)
	if err != nil {
		return nil, err
	}
	return ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 newScheme(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// A process may start more than one harness (tests run in sequence).
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}: {Label: labels.NewSelector().Add(*req)},
		}},
		Client: setup.ManagerClientOptions(),
	})
}

// Stop stops the gate processes, then the CAPI manager (its controllers
// talk to the in-memory workload clusters), then the in-memory backend, the
// emulators and envtest. Every step has a time limit, so a stuck shutdown
// cannot hang a test.
func (h *Harness) Stop() error {
	var errs []error
	if err := h.stopGates(); err != nil {
		errs = append(errs, err)
	}
	if h.stop != nil {
		h.stop()
	}
	if h.done != nil {
		select {
		case err := <-h.done:
			if err != nil {
				errs = append(errs, fmt.Errorf("manager: %w", err))
			}
		case <-time.After(30 * time.Second):
			errs = append(errs, errors.New("the manager did not stop within 30 s"))
		}
	}
	if h.closeClusterCache != nil {
		h.closeClusterCache()
	}
	if h.backend != nil {
		if err := h.backend.shutdown(5 * time.Second); err != nil {
			errs = append(errs, fmt.Errorf("in-memory backend: %w", err))
		}
	}
	h.clouds.closeAll()
	if err := h.env.Stop(); err != nil {
		errs = append(errs, fmt.Errorf("envtest: %w", err))
	}
	return errors.Join(errs...)
}

// setLogger sends controller-runtime's and klog's logs to w, or nowhere,
// and so does the standard logger: the in-memory API servers' HTTP servers
// log through it ("superfluous response.WriteHeader call").
func setLogger(w io.Writer) {
	logger := logr.Discard()
	if w == nil {
		w = io.Discard
	} else {
		logger = zap.New(zap.WriteTo(w), zap.UseDevMode(true))
	}
	ctrl.SetLogger(logger)
	klog.SetLogger(logger)
	log.SetOutput(w)
}
