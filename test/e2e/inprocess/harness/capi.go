package harness

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
	"sigs.k8s.io/cluster-api/bootstrap/kubeadm/reconcilers/kubeadmconfig"
	"sigs.k8s.io/cluster-api/controllers/clustercache"
	"sigs.k8s.io/cluster-api/controlplane/kubeadm/reconcilers/kubeadmcontrolplane"
	"sigs.k8s.io/cluster-api/core/reconcilers/cluster"
	"sigs.k8s.io/cluster-api/core/reconcilers/machine"
	"sigs.k8s.io/cluster-api/core/reconcilers/machineset"
	"sigs.k8s.io/cluster-api/core/setup"
	"sigs.k8s.io/cluster-api/test/infrastructure/container"
	devcontrollers "sigs.k8s.io/cluster-api/test/infrastructure/docker/controllers"
	inmemoryruntime "sigs.k8s.io/cluster-api/test/infrastructure/inmemory/pkg/runtime"
	inmemoryserver "sigs.k8s.io/cluster-api/test/infrastructure/inmemory/pkg/server"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller"
)

// CAPI's reconcilers refuse zero (and, for the remote-conditions grace
// period, short) settings; these are their binaries' defaults.
const (
	remoteConnectionGracePeriod = 50 * time.Second
	remoteConditionsGracePeriod = 5 * time.Minute
	etcdDialTimeout             = 10 * time.Second
	etcdCallTimeout             = 15 * time.Second
	bootstrapTokenTTL           = 15 * time.Minute
	controllerName              = "membergate-e2e"
)

// inMemoryBackend is the fake infrastructure: a store of in-memory workload
// clusters and the mux that serves their API servers and etcd, advertised
// as 127.0.0.1. (CAPI's mux listens on every address of the host; it has no
// option to listen on loopback only.)
type inMemoryBackend struct {
	manager inmemoryruntime.Manager
	mux     *inmemoryserver.WorkloadClustersMux
	stop    context.CancelFunc
}

func startInMemoryBackend() (*inMemoryBackend, error) {
	first, debug, err := freePortRange(inMemoryPorts)
	if err != nil {
		return nil, err
	}
	// Its own context: the in-memory store must outlive the manager, whose
	// controllers still talk to the workload clusters while stopping.
	ctx, cancel := context.WithCancel(context.Background())
	m := inmemoryruntime.NewManager(newInMemoryScheme())
	if err := m.Start(ctx); err != nil {
		cancel()
		return nil, fmt.Errorf("starting the in-memory workload clusters: %w", err)
	}
	mux, err := inmemoryserver.NewWorkloadClustersMux(m, "127.0.0.1",
		inmemoryserver.CustomPorts{MinPort: first, MaxPort: first + inMemoryPorts - 1, DebugPort: debug})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("starting the in-memory API server mux: %w", err)
	}
	return &inMemoryBackend{manager: m, mux: mux, stop: cancel}, nil
}

// shutdown closes the workload clusters' listeners and waits a while for
// their connections to end. KCP's etcd clients keep theirs open after the
// manager stopped; they do no harm once the listeners are closed, so running
// out of time is not an error.
func (b *inMemoryBackend) shutdown(timeout time.Duration) error {
	defer b.stop()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := b.mux.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// connectionRetryInterval replaces the ClusterCache's 30 s between attempts
// to reach a workload cluster: the first API server of a new cluster comes
// up seconds after the first attempt, and 30 s of waiting for nothing would
// dominate the test's run time.
const connectionRetryInterval = 2 * time.Second

// clusterCacheForTests is what CAPI's ClusterCache offers its own tests.
type clusterCacheForTests interface {
	SetConnectionCreationRetryInterval(time.Duration)
	Shutdown()
}

// setupCAPI registers the CAPI controllers a KubeadmControlPlane rollout
// needs, wired as CAPI's own binaries wire them, and the Dev infrastructure
// controllers on the in-memory backend. It returns a function that closes
// the ClusterCache's connections to the workload clusters, for after the
// manager stopped.
func setupCAPI(ctx context.Context, mgr ctrl.Manager, backend *inMemoryBackend) (shutdown func(), err error) {
	secretCachingClient, err := setup.CreateSecretCachingClient(mgr)
	if err != nil {
		return nil, err
	}
	clusterCache, err := clustercache.SetupWithManager(ctx, mgr, clustercache.Options{
		SecretClient: secretCachingClient,
		Cache:        setup.ClusterCacheCacheOptions(),
		Client:       setup.ClusterCacheClientOptions(controllerName, 20, 30),
	}, concurrency(10))
	if err != nil {
		return nil, fmt.Errorf("ClusterCache: %w", err)
	}
	shutdown = func() {}
	if cc, ok := clusterCache.(clusterCacheForTests); ok {
		cc.SetConnectionCreationRetryInterval(connectionRetryInterval)
		shutdown = cc.Shutdown
	}
	runtime, err := container.NewFakeClient()
	if err != nil {
		return nil, err
	}
	c, r := mgr.GetClient(), mgr.GetAPIReader()
	steps := []struct {
		name  string
		setup func() error
	}{
		{"Cluster", func() error {
			return (&cluster.Reconciler{Client: c, APIReader: r, ClusterCache: clusterCache,
				RemoteConnectionGracePeriod: remoteConnectionGracePeriod}).SetupWithManager(ctx, mgr, concurrency(10))
		}},
		{"Machine", func() error {
			return (&machine.Reconciler{Client: c, APIReader: r, ClusterCache: clusterCache,
				RemoteConditionsGracePeriod: remoteConditionsGracePeriod}).SetupWithManager(ctx, mgr, concurrency(10))
		}},
		{"MachineSet", func() error {
			return (&machineset.Reconciler{Client: c, APIReader: r, ClusterCache: clusterCache}).SetupWithManager(ctx, mgr, concurrency(10))
		}},
		{"KubeadmConfig", func() error {
			return (&kubeadmconfig.Reconciler{Client: c, SecretCachingClient: secretCachingClient, APIReader: r,
				ClusterCache: clusterCache, TokenTTL: bootstrapTokenTTL}).SetupWithManager(ctx, mgr, concurrency(10))
		}},
		{"KubeadmControlPlane", func() error {
			return (&kubeadmcontrolplane.Reconciler{Client: c, APIReader: r, SecretCachingClient: secretCachingClient,
				ClusterCache: clusterCache, EtcdDialTimeout: etcdDialTimeout, EtcdCallTimeout: etcdCallTimeout,
				// Without a logger the etcd client logs to stderr.
				EtcdLogger:                  zap.NewNop(),
				RemoteConditionsGracePeriod: remoteConditionsGracePeriod}).SetupWithManager(ctx, mgr,
				controller.Options{MaxConcurrentReconciles: 10, ReconciliationTimeout: 3 * time.Minute})
		}},
		{"DevCluster", func() error {
			return (&devcontrollers.DevClusterReconciler{Client: c, ContainerRuntime: runtime,
				InMemoryManager: backend.manager, APIServerMux: backend.mux}).SetupWithManager(ctx, mgr, concurrency(10))
		}},
		{"DevMachine", func() error {
			return (&devcontrollers.DevMachineReconciler{Client: c, ContainerRuntime: runtime, ClusterCache: clusterCache,
				InMemoryManager: backend.manager, APIServerMux: backend.mux}).SetupWithManager(ctx, mgr, concurrency(10))
		}},
	}
	for _, s := range steps {
		if err := s.setup(); err != nil {
			return nil, fmt.Errorf("setting up the %s controller: %w", s.name, err)
		}
	}
	return shutdown, nil
}

func concurrency(n int) controller.Options {
	return controller.Options{MaxConcurrentReconciles: n}
}
