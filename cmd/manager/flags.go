package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/membergate/membergate/extension"
	"github.com/membergate/membergate/pkg/gate"
)

// options are the manager's flags; docs/install.md lists every one.
type options struct {
	metricsAddr, probeAddr string
	leaderElect            bool
	leaderElectNamespace   string
	budget                 float64
	burst                  int
	syncPeriod             time.Duration

	enableWebhooks bool
	webhookHost    string
	webhookPort    int
	webhookCertDir string

	enableExtension   bool
	extensionHost     string
	extensionPort     int
	extensionCertDir  string
	extensionHooks    string
	maxObservationAge time.Duration
	parsedHooks       []gate.Hook
	zap               zap.Options
}

// parse reads the command line into options and checks it.
func parse(args []string) (*options, error) {
	o := &options{}
	fs := flagSet(o)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	return o, o.check()
}

// flagSet binds every flag to o.
func flagSet(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", ":8443", "address of the metrics endpoint (HTTPS; callers need a token allowed to get /metrics); 0 disables it")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "address of the /healthz and /readyz probes")
	fs.BoolVar(&o.leaderElect, "leader-elect", true, "elect a leader, so that only one replica runs the controller (every replica serves webhooks and the extension)")
	fs.StringVar(&o.leaderElectNamespace, "leader-elect-namespace", "", "namespace of the leader election Lease; empty means the Pod's own")
	fs.Float64Var(&o.budget, "octavia-qps", 5, "OpenStack requests (Octavia, and Neutron for security groups) per second per cloud, for all clusters together")
	fs.IntVar(&o.burst, "octavia-burst", 10, "burst of OpenStack requests per cloud")
	fs.DurationVar(&o.syncPeriod, "sync-period", 10*time.Minute, "how often every watched object is reconciled anyway")

	fs.BoolVar(&o.enableWebhooks, "enable-webhooks", true, "serve the MemberGate admission webhooks")
	fs.StringVar(&o.webhookHost, "webhook-host", "", "address the admission webhook server listens on; empty means every interface")
	fs.IntVar(&o.webhookPort, "webhook-port", 9443, "port of the admission webhook server (TLS)")
	fs.StringVar(&o.webhookCertDir, "webhook-cert-dir", "/tmp/k8s-webhook-server/serving-certs", "directory with tls.crt and tls.key for the webhook server (cert-manager mounts them)")

	fs.BoolVar(&o.enableExtension, "enable-extension", true, "serve the Cluster API Runtime Extension (lifecycle hooks for ClusterClass clusters)")
	fs.StringVar(&o.extensionHost, "extension-host", "", "address the Runtime Extension server listens on; empty means every interface")
	fs.IntVar(&o.extensionPort, "extension-port", extension.DefaultPort, "port of the Runtime Extension server (TLS)")
	fs.StringVar(&o.extensionCertDir, "extension-cert-dir", "/tmp/k8s-runtime-extension/serving-certs", "directory with tls.crt and tls.key for the Runtime Extension server (cert-manager mounts them)")
	fs.StringVar(&o.extensionHooks, "extension-hooks", hookNames(extension.AllHooks),
		"comma-separated lifecycle hooks to serve; leave out BeforeControlPlaneUpgrade on CAPI v1.11, whose discovery rejects hooks it does not know")
	fs.DurationVar(&o.maxObservationAge, "extension-max-observation-age", gate.DefaultMaxObservationAge,
		"how old the gate's last observation of a cluster may be for a hook to rely on it; older blocks the hook")
	o.zap.BindFlags(fs)
	return fs
}

// check validates the parsed options and fills what derives from them.
func (o *options) check() error {
	if o.enableExtension {
		hooks, err := extension.ParseHooks(o.extensionHooks)
		if err != nil {
			return fmt.Errorf("--extension-hooks: %w", err)
		}
		o.parsedHooks = hooks
	}
	if o.enableWebhooks && o.enableExtension && o.webhookPort == o.extensionPort {
		return fmt.Errorf("--webhook-port and --extension-port are both %d: they are separate servers with separate certificates", o.webhookPort)
	}
	if o.maxObservationAge <= 0 {
		return fmt.Errorf("--extension-max-observation-age must be positive")
	}
	return nil
}

func hookNames(hooks []gate.Hook) string {
	names := make([]string, len(hooks))
	for i, h := range hooks {
		names[i] = string(h)
	}
	return strings.Join(names, ",")
}
