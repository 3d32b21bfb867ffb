package extension

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/utils/ptr"
	runtimecatalog "sigs.k8s.io/cluster-api/api/runtime/catalog"
	runtimehooksv1 "sigs.k8s.io/cluster-api/api/runtime/hooks/v1alpha1"
	"sigs.k8s.io/cluster-api/exp/runtime/server"

	"github.com/membergate/membergate/internal/tlsserving"
	"github.com/membergate/membergate/pkg/gate"
)

// Handler names, part of the extension's API: CAPI addresses a handler as
// "<handler>.<ExtensionConfig name>", e.g. in the TopologyReconciled
// condition.
const (
	BeforeClusterUpgradeHandler      = "before-cluster-upgrade"
	BeforeControlPlaneUpgradeHandler = "before-control-plane-upgrade"
	AfterControlPlaneUpgradeHandler  = "after-control-plane-upgrade"
)

// DefaultPort is the port of the extension server; the admission webhooks
// keep controller-runtime's 9443.
const DefaultPort = 9444

// Options configure the extension server.
type Options struct {
	// Host and Port to listen on; Host "" means every interface.
	Host string
	Port int
	// CertDir holds tls.crt and tls.key (cert-manager mounts them).
	CertDir string
	// Hooks to serve; nil means all of AllHooks. CAPI v1.11 does not know
	// BeforeControlPlaneUpgrade and fails the whole discovery of an
	// extension that offers it, so it must be left out there.
	Hooks []gate.Hook
	// FailClosed declares failurePolicy Fail: an upgrade waits while the
	// extension cannot answer. The default, Ignore, lets CAPI go on when
	// membergate is down — the pre-drain hook on every control-plane
	// Machine still holds the deletions that matter, so an outage of the
	// extension blocks no provider's upgrades, only their early warning.
	FailClosed bool
	// HTTP2 serves HTTP/2 besides HTTP/1.1 (see tlsserving.Options).
	HTTP2 bool
}

// AllHooks are the lifecycle hooks the extension can serve.
var AllHooks = []gate.Hook{gate.BeforeClusterUpgrade, gate.BeforeControlPlaneUpgrade, gate.AfterControlPlaneUpgrade}

// NewServer builds the Runtime Extension server: CAPI's server (discovery
// included) with the lifecycle hook handlers, tolerant of the v1beta1
// Cluster that CAPI v1.11 and v1.12 send. Add it to a manager, which starts
// it on every replica (it needs no leader).
func NewServer(opts Options, h *Handlers) (*server.Server, error) {
	catalog := runtimecatalog.New()
	if err := runtimehooksv1.AddToCatalog(catalog); err != nil {
		return nil, err
	}
	srv, err := server.New(server.Options{Catalog: catalog, Host: opts.Host, Port: opts.Port, CertDir: opts.CertDir,
		TLSOpts: tlsserving.Options(opts.HTTP2)})
	if err != nil {
		return nil, err
	}
	srv.Server = tolerantServer{Server: srv.Server}
	policy := ptr.To(runtimehooksv1.FailurePolicyIgnore)
	if opts.FailClosed {
		policy = ptr.To(runtimehooksv1.FailurePolicyFail)
	}
	handlers := map[gate.Hook]server.ExtensionHandler{
		gate.BeforeClusterUpgrade:      {Hook: runtimehooksv1.BeforeClusterUpgrade, Name: BeforeClusterUpgradeHandler, HandlerFunc: h.DoBeforeClusterUpgrade},
		gate.BeforeControlPlaneUpgrade: {Hook: runtimehooksv1.BeforeControlPlaneUpgrade, Name: BeforeControlPlaneUpgradeHandler, HandlerFunc: h.DoBeforeControlPlaneUpgrade},
		gate.AfterControlPlaneUpgrade:  {Hook: runtimehooksv1.AfterControlPlaneUpgrade, Name: AfterControlPlaneUpgradeHandler, HandlerFunc: h.DoAfterControlPlaneUpgrade},
	}
	hooks := opts.Hooks
	if hooks == nil {
		hooks = AllHooks
	}
	for _, hook := range hooks {
		eh, ok := handlers[hook]
		if !ok {
			return nil, fmt.Errorf("unknown hook %q: membergate serves %v", hook, AllHooks)
		}
		eh.FailurePolicy = policy
		eh.TimeoutSeconds = ptr.To[int32](10)
		if err := srv.AddExtensionHandler(eh); err != nil {
			return nil, fmt.Errorf("adding the %s handler: %w", eh.Name, err)
		}
	}
	return srv, nil
}

// ParseHooks reads a comma-separated list of hook names (as the
// --extension-hooks flag takes them).
func ParseHooks(s string) ([]gate.Hook, error) {
	var hooks []gate.Hook
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if !slices.Contains(AllHooks, gate.Hook(name)) {
			return nil, fmt.Errorf("unknown hook %q: membergate serves %v", name, AllHooks)
		}
		if slices.Contains(hooks, gate.Hook(name)) {
			return nil, fmt.Errorf("hook %q listed twice", name)
		}
		hooks = append(hooks, gate.Hook(name))
	}
	if len(hooks) == 0 {
		return nil, fmt.Errorf("no hook listed; leave the extension off with --enable-extension=false instead")
	}
	return hooks, nil
}
