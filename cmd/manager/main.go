// Command manager runs membergate's controllers: the gate that holds CAPO
// clusters' control-plane rollouts until the new load-balancer members serve,
// the security-group reconciler that admits the load balancer to the nodes,
// the MemberGate admission webhooks and the Runtime Extension.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"

	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/membergate/membergate/controllers"
	"github.com/membergate/membergate/controllers/securitygroup"
	"github.com/membergate/membergate/extension"
	"github.com/membergate/membergate/internal/cloud/scope"
	"github.com/membergate/membergate/internal/scheme"
	"github.com/membergate/membergate/internal/tlsserving"
	"github.com/membergate/membergate/webhooks"
)

func main() {
	o, err := parse(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&o.zap)))
	if err := run(ctrl.SetupSignalHandler(), ctrl.GetConfigOrDie(), o); err != nil {
		ctrl.Log.WithName("setup").Error(err, "manager stopped")
		os.Exit(1)
	}
}

// run builds the manager from options and runs it until ctx ends.
func run(ctx context.Context, cfg *rest.Config, o *options) error {
	mgr, err := newManager(ctx, cfg, o)
	if err != nil {
		return err
	}
	ctrl.Log.WithName("setup").Info("starting the manager", "version", version, "namespaces", namespacesLog(o.namespaces), "webhooks", o.enableWebhooks, "extension", o.enableExtension, "hooks", o.parsedHooks)
	return mgr.Start(ctx)
}

// newManager builds the manager from options: its cache, the controllers,
// the webhooks and the extension, not yet started. The scale benchmark runs
// the same wiring.
func newManager(ctx context.Context, cfg *rest.Config, o *options) (manager.Manager, error) {
	metrics := metricsserver.Options{BindAddress: o.metricsAddr, SecureServing: true}
	if o.metricsAddr != "0" {
		// Metrics name clusters and their members: only callers allowed to
		// GET /metrics (a TokenReview and a SubjectAccessReview) read them.
		metrics.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme.New(),
		Metrics:                 metrics,
		HealthProbeBindAddress:  o.probeAddr,
		LeaderElection:          o.leaderElect,
		LeaderElectionID:        "membergate.membergate.io",
		LeaderElectionNamespace: o.leaderElectNamespace,
		Cache:                   cacheOptions(o),
		Controller:              config.Controller{SkipNameValidation: ptr.To(o.skipNameValidation)},
		WebhookServer: webhook.NewServer(webhook.Options{Host: o.webhookHost, Port: o.webhookPort, CertDir: o.webhookCertDir,
			TLSOpts: tlsserving.Options(o.http2)}),
	})
	if err != nil {
		return nil, fmt.Errorf("creating the manager: %w", err)
	}
	// One SecretSources for the gate's Octavia observations and the
	// security-group reconciler's Octavia and Neutron requests: the same
	// identity Secrets, the same per-cloud budget.
	sources := &scope.SecretSources{Client: secretReader(mgr.GetAPIReader(), o.namespaces), Budget: rate.Limit(o.budget), Burst: o.burst,
		IdentityBudget: rate.Limit(o.identityBudget), IdentityBurst: o.identityBurst, AllowInsecureTLS: o.allowInsecureTLS}
	gate := &controllers.GateReconciler{
		Client:      mgr.GetClient(),
		Recorder:    mgr.GetEventRecorder("membergate"),
		Sources:     sources,
		Concurrency: o.concurrency,
		IdleResync:  o.idleResync,
	}
	if o.clusterSelector != "" {
		// parse checked it.
		gate.ClusterSelector, _ = labels.Parse(o.clusterSelector)
	}
	if err := gate.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up the gate controller: %w", err)
	}
	mgmtID, err := managementClusterID(ctx, mgr.GetAPIReader(), o.managementClusterID)
	if err != nil {
		return nil, err
	}
	groups := &securitygroup.Reconciler{
		ManagementCluster: mgmtID,
		Concurrency:       o.concurrency,
		Client:            mgr.GetClient(),
		Recorder:          mgr.GetEventRecorder("membergate"),
		Networks:          sources,
		MinSourcePrefixV4: o.minSourcePrefixV4,
		MinSourcePrefixV6: o.minSourcePrefixV6,
		IdleResync:        o.idleResync,
		ClusterSelector:   gate.ClusterSelector,
	}
	if err := groups.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up the security-group controller: %w", err)
	}
	if o.enableWebhooks {
		if err := (webhooks.MemberGate{MinSourcePrefixV4: o.minSourcePrefixV4, MinSourcePrefixV6: o.minSourcePrefixV6}).SetupWithManager(mgr); err != nil {
			return nil, fmt.Errorf("setting up the MemberGate webhooks: %w", err)
		}
		if err := mgr.AddReadyzCheck("webhooks", mgr.GetWebhookServer().StartedChecker()); err != nil {
			return nil, err
		}
	}
	if o.enableExtension {
		if err := addExtension(mgr, o); err != nil {
			return nil, err
		}
	}
	// Live while no reconcile is stuck past its deadline; a plain ping
	// would stay green with every worker hung.
	if err := mgr.AddHealthzCheck("reconcile", gate.Healthz); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return nil, err
	}
	return mgr, nil
}

// cacheOptions are the manager's cache. With --watch-namespaces it lists
// and watches namespaced objects in those namespaces only, so the manager
// neither sees nor acts on a cluster elsewhere and needs no cluster-wide
// grant for them. It keeps in memory only what the controllers read: no
// object's managedFields, and of a worker Machine (which only the
// security-group reconciler reads, for its addresses, when a MemberGate
// admits workers) its name, labels, deletion and addresses. At 10 workers
// per control plane, full worker Machines would be most of the cache.
func cacheOptions(o *options) cache.Options {
	strip := cache.TransformStripManagedFields()
	c := cache.Options{SyncPeriod: &o.syncPeriod, DefaultTransform: strip,
		ByObject: map[client.Object]cache.ByObject{&clusterv1.Machine{}: {Transform: func(obj any) (any, error) {
			obj, err := strip(obj)
			m, ok := obj.(*clusterv1.Machine)
			if err != nil || !ok {
				return obj, err
			}
			if _, cp := m.Labels[clusterv1.MachineControlPlaneLabel]; cp {
				return m, nil
			}
			return &clusterv1.Machine{TypeMeta: m.TypeMeta, ObjectMeta: metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, UID: m.UID,
				ResourceVersion: m.ResourceVersion, Labels: m.Labels, DeletionTimestamp: m.DeletionTimestamp},
				Status: clusterv1.MachineStatus{Addresses: m.Status.Addresses}}, nil
		}}}}
	if len(o.namespaces) > 0 {
		c.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range o.namespaces {
			c.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return c
}

// secretReader is where identity Secrets are read: the API server, and
// with --watch-namespaces in those namespaces only. The cache already
// keeps other namespaces' clusters out; this keeps their Secrets out even
// of a request that names one, so namespaced RBAC is all the manager needs.
func secretReader(r client.Reader, namespaces []string) client.Reader {
	if len(namespaces) == 0 {
		return r
	}
	return namespacedReader{Reader: r, namespaces: namespaces}
}

// namespacedReader refuses to read outside its namespaces.
type namespacedReader struct {
	client.Reader
	namespaces []string
}

func (n namespacedReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if !slices.Contains(n.namespaces, key.Namespace) {
		return fmt.Errorf("namespace %q is not watched (--watch-namespaces=%s): its Secrets are not read", key.Namespace, strings.Join(n.namespaces, ","))
	}
	return n.Reader.Get(ctx, key, obj, opts...)
}

func (n namespacedReader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	lo := (&client.ListOptions{}).ApplyOptions(opts)
	if !slices.Contains(n.namespaces, lo.Namespace) {
		return fmt.Errorf("namespace %q is not watched (--watch-namespaces=%s): nothing is listed there", lo.Namespace, strings.Join(n.namespaces, ","))
	}
	return n.Reader.List(ctx, list, opts...)
}

// addExtension adds the Runtime Extension server, on its own port and
// certificate: CAPI reaches it through an ExtensionConfig, the API server
// reaches the webhooks through webhook configurations.
func addExtension(mgr manager.Manager, o *options) error {
	h := &extension.Handlers{Client: mgr.GetClient(), MaxObservationAge: o.maxObservationAge}
	srv, err := extension.NewServer(extension.Options{Host: o.extensionHost, Port: o.extensionPort, CertDir: o.extensionCertDir, Hooks: o.parsedHooks, FailClosed: o.extensionFailClosed, HTTP2: o.http2}, h)
	if err != nil {
		return fmt.Errorf("creating the Runtime Extension server: %w", err)
	}
	// The server needs no leader: every replica answers hooks from the
	// shared cache, so a rollout of the manager never blocks CAPI.
	if err := mgr.Add(srv); err != nil {
		return fmt.Errorf("adding the Runtime Extension server: %w", err)
	}
	return mgr.AddReadyzCheck("extension", srv.StartedChecker())
}

func namespacesLog(ns []string) string {
	if len(ns) == 0 {
		return "all"
	}
	return strings.Join(ns, ",")
}

// managementClusterID is the flag's value, or else the UID of the
// kube-system namespace: every cluster has one, it never changes, and it
// differs between clusters (what kubectl, Istio and others take for a
// cluster's identity).
func managementClusterID(ctx context.Context, c client.Reader, flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	var ns corev1.Namespace
	if err := c.Get(ctx, client.ObjectKey{Name: metav1.NamespaceSystem}, &ns); err != nil {
		return "", fmt.Errorf("reading the kube-system namespace's UID, which names this management cluster in security-group rules (set --management-cluster-id instead): %w", err)
	}
	return string(ns.UID), nil
}
