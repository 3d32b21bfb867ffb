package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/membergate/membergate/controllers"
	"github.com/membergate/membergate/extension"
	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/secgroup"
)

// options are the manager's flags; docs/install.md lists every one.
type options struct {
	metricsAddr, probeAddr string
	leaderElect            bool
	leaderElectNamespace   string
	budget                 float64
	burst                  int
	identityBudget         float64
	identityBurst          int
	syncPeriod             time.Duration
	minSourcePrefixV4      int
	managementClusterID    string
	allowInsecureTLS       bool
	concurrency            int
	extensionFailClosed    bool
	http2                  bool
	minSourcePrefixV6      int
	watchNamespaces        string
	// namespaces are --watch-namespaces parsed; empty means all.
	namespaces []string

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
	idleResync        time.Duration
	clusterSelector   string
	parsedHooks       []gate.Hook
	zap               zap.Options
	// skipNameValidation lets tests run several managers in one process.
	skipNameValidation bool
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
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", ":8443", "host:port of the metrics endpoint (HTTPS; callers need a token allowed to get /metrics); 0 disables it")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "host:port of the /healthz and /readyz probes; 0 or empty disables them")
	fs.BoolVar(&o.leaderElect, "leader-elect", true, "elect a leader, so that only one replica runs the controller (every replica serves webhooks and the extension)")
	fs.StringVar(&o.leaderElectNamespace, "leader-elect-namespace", "", "namespace of the leader election Lease; empty means the Pod's own")
	fs.Float64Var(&o.budget, "octavia-qps", 5, "OpenStack requests (Octavia, and Neutron for security groups) per second per cloud, for all clusters together; positive")
	fs.IntVar(&o.burst, "octavia-burst", 10, "burst of OpenStack requests per cloud; at least 1")
	fs.Float64Var(&o.identityBudget, "octavia-qps-per-identity", 0,
		"OpenStack requests per second per identity Secret, to all its endpoints together: one tenant's share of a cloud, at most --octavia-qps; 0 means half of --octavia-qps")
	fs.IntVar(&o.identityBurst, "octavia-burst-per-identity", 0, "burst of one identity's requests, at most --octavia-burst; 0 means half of --octavia-burst (at least 1)")
	fs.DurationVar(&o.syncPeriod, "sync-period", 10*time.Minute, "how often every watched object is reconciled anyway; at least 1s")
	fs.IntVar(&o.concurrency, "concurrency", 8,
		"clusters each controller reconciles at once, 1 to 64: a cloud that hangs holds one worker per request timeout (10s), never the others")
	fs.BoolVar(&o.allowInsecureTLS, "allow-insecure-openstack-tls", false,
		"honour verify: false in identity Secrets' clouds.yaml (certificate checks off for that cloud); without it such clouds are refused")
	fs.StringVar(&o.managementClusterID, "management-cluster-id", "",
		"names this management cluster in the marks of the security-group rules it creates, so that management clusters sharing a project never take each other's rules; empty means the UID of the kube-system namespace")
	fs.IntVar(&o.minSourcePrefixV4, "min-source-prefix-v4", secgroup.DefaultMinPrefixV4,
		"the widest IPv4 source a security-group rule may admit, as a prefix length (8 admits 10.0.0.0/8, refuses 0.0.0.0/1), unless a MemberGate sets allowAnywhere; 1 to 32")
	fs.IntVar(&o.minSourcePrefixV6, "min-source-prefix-v6", secgroup.DefaultMinPrefixV6,
		"the widest IPv6 source a security-group rule may admit, as a prefix length, unless a MemberGate sets allowAnywhere; 1 to 128")

	fs.StringVar(&o.watchNamespaces, "watch-namespaces", "",
		"comma-separated namespaces whose clusters the manager gates and whose identity Secrets it reads (namespaced RBAC suffices: config/namespaced); empty means every namespace")

	fs.BoolVar(&o.enableWebhooks, "enable-webhooks", true, "serve the MemberGate admission webhooks")
	fs.StringVar(&o.webhookHost, "webhook-host", "", "address the admission webhook server listens on; empty means every interface")
	fs.IntVar(&o.webhookPort, "webhook-port", 9443, "port of the admission webhook server (TLS), 1 to 65535")
	fs.StringVar(&o.webhookCertDir, "webhook-cert-dir", "/tmp/k8s-webhook-server/serving-certs", "directory with tls.crt and tls.key for the webhook server (cert-manager mounts them)")

	fs.BoolVar(&o.enableExtension, "enable-extension", true, "serve the Cluster API Runtime Extension (lifecycle hooks for ClusterClass clusters)")
	fs.StringVar(&o.extensionHost, "extension-host", "", "address the Runtime Extension server listens on; empty means every interface")
	fs.IntVar(&o.extensionPort, "extension-port", extension.DefaultPort, "port of the Runtime Extension server (TLS), 1 to 65535")
	fs.StringVar(&o.extensionCertDir, "extension-cert-dir", "/tmp/k8s-runtime-extension/serving-certs", "directory with tls.crt and tls.key for the Runtime Extension server (cert-manager mounts them)")
	fs.StringVar(&o.extensionHooks, "extension-hooks", hookNames(extension.AllHooks),
		"comma-separated lifecycle hooks to serve; leave out BeforeControlPlaneUpgrade on CAPI v1.11, whose discovery rejects hooks it does not know")
	fs.BoolVar(&o.http2, "enable-http2", false, "serve HTTP/2 on the webhook and extension servers besides HTTP/1.1 (off: HTTP/2's rapid-reset attacks)")
	fs.BoolVar(&o.extensionFailClosed, "extension-fail-closed", false,
		"declare the lifecycle hooks failurePolicy Fail (an upgrade waits while the extension cannot answer) instead of Ignore; the pre-drain hooks hold rollouts either way")
	fs.DurationVar(&o.maxObservationAge, "extension-max-observation-age", 0,
		"how old the gate's last observation of a cluster may be for a hook to rely on it; older blocks the hook. 0 means --idle-resync and its jitter (a fifth) plus 2m; at least --idle-resync and its jitter plus 30s")
	fs.DurationVar(&o.idleResync, "idle-resync", gate.DefaultIdleResync,
		"how often a cluster with nothing pending (no Machine deleting, no member waiting, no orphan) is read from Octavia, and its settled security groups from Neutron, plus up to a fifth of jitter per cluster; 30s to 1h")
	fs.StringVar(&o.clusterSelector, "cluster-selector", "", "label selector of the Clusters this manager gates (sharding); empty means every Cluster")
	o.zap.BindFlags(fs)
	return fs
}

// check validates the parsed options and fills what derives from them. It
// refuses every value that could never work or that a library would
// silently replace with another (port 0 becomes a default port, an empty
// metrics address controller-runtime's :8080), naming each flag at fault and
// what it accepts; the settings of a disabled server are not read.
func (o *options) check() error {
	var errs []error
	bad := func(flag string, value any, format string, a ...any) {
		errs = append(errs, fmt.Errorf("--%s=%v: %s", flag, value, fmt.Sprintf(format, a...)))
	}
	var listeners []listener

	if o.metricsAddr != "0" {
		if l, err := bindAddress("metrics-bind-address", o.metricsAddr); err != nil {
			bad("metrics-bind-address", o.metricsAddr, `want "0" (off) or host:port with a port from 1 to 65535 (%v)`, err)
		} else {
			listeners = append(listeners, l)
		}
	}
	if o.probeAddr != "" && o.probeAddr != "0" {
		if l, err := bindAddress("health-probe-bind-address", o.probeAddr); err != nil {
			bad("health-probe-bind-address", o.probeAddr, `want "0" or "" (off) or host:port with a port from 1 to 65535 (%v)`, err)
		} else {
			listeners = append(listeners, l)
		}
	}
	if ns := o.leaderElectNamespace; ns != "" {
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			bad("leader-elect-namespace", ns, "not a namespace name: %s", strings.Join(msgs, "; "))
		}
	}
	if o.watchNamespaces != "" {
		var err error
		if o.namespaces, err = namespaceList(o.watchNamespaces); err != nil {
			bad("watch-namespaces", o.watchNamespaces, "%v", err)
		}
	}
	// A budget that allows no request fails every observation of Octavia,
	// and a gate that cannot observe holds every rollout forever.
	switch {
	case math.IsNaN(o.budget) || o.budget <= 0:
		bad("octavia-qps", o.budget, "must be a positive number of requests per second (0.2 is one every 5 s): with none allowed the gate never observes Octavia and holds every rollout")
	case math.IsInf(o.budget, 1):
		bad("octavia-qps", o.budget, "must be a finite number of requests per second")
	}
	// 0 would admit the whole internet, which only allowAnywhere may.
	if o.minSourcePrefixV4 < 1 || o.minSourcePrefixV4 > 32 {
		bad("min-source-prefix-v4", o.minSourcePrefixV4, "must be a prefix length from 1 to 32 (0.0.0.0/0 is admitted only by a MemberGate's allowAnywhere)")
	}
	if o.minSourcePrefixV6 < 1 || o.minSourcePrefixV6 > 128 {
		bad("min-source-prefix-v6", o.minSourcePrefixV6, "must be a prefix length from 1 to 128 (::/0 is admitted only by a MemberGate's allowAnywhere)")
	}
	if o.burst < 1 {
		bad("octavia-burst", o.burst, "must be at least 1: a smaller burst never allows a request")
	}
	if o.concurrency < 1 || o.concurrency > 64 {
		bad("concurrency", o.concurrency, "must be from 1 to 64")
	}
	// The mark is "membergate <namespace>/<name>@<id>: ..." in a rule's
	// description, which Neutron caps at 255 characters.
	if id := o.managementClusterID; len(id) > 64 || strings.ContainsAny(id, ": @\t\n") {
		bad("management-cluster-id", id, "must be at most 64 characters without spaces, ':' or '@' (it goes into rule descriptions)")
	}
	// Half by default: one tenant can never take the whole of a cloud's
	// budget, and a smaller --octavia-qps never makes the default invalid.
	if o.identityBudget == 0 {
		o.identityBudget = o.budget / 2
	}
	if o.identityBurst == 0 {
		o.identityBurst = max(1, o.burst/2)
	}
	switch {
	case math.IsNaN(o.identityBudget) || o.identityBudget <= 0 || math.IsInf(o.identityBudget, 1):
		bad("octavia-qps-per-identity", o.identityBudget, "must be a positive, finite number of requests per second")
	case o.identityBudget > o.budget:
		bad("octavia-qps-per-identity", o.identityBudget, "must not exceed --octavia-qps (%v): one tenant's share cannot be more than the whole", o.budget)
	}
	switch {
	case o.identityBurst < 1:
		bad("octavia-burst-per-identity", o.identityBurst, "must be at least 1: a smaller burst never allows a request")
	case o.identityBurst > o.burst:
		bad("octavia-burst-per-identity", o.identityBurst, "must not exceed --octavia-burst (%d)", o.burst)
	}
	// 0 would turn the resync off, and client-go raises anything shorter
	// than a second to one.
	if o.syncPeriod < minSyncPeriod {
		bad("sync-period", o.syncPeriod, "must be at least %s", minSyncPeriod)
	}
	// Shorter than the fast resync would look at idle clusters more often
	// than at rolling ones.
	if o.idleResync < controllers.Resync || o.idleResync > time.Hour {
		bad("idle-resync", o.idleResync, "must be from %s to 1h", controllers.Resync)
	}
	if _, err := labels.Parse(o.clusterSelector); err != nil {
		bad("cluster-selector", o.clusterSelector, "not a label selector: %v", err)
	}

	if o.enableWebhooks {
		if err := port(o.webhookPort); err != nil {
			bad("webhook-port", o.webhookPort, "%v", err)
		} else {
			listeners = append(listeners, listener{"webhook-port", o.webhookHost, o.webhookPort})
		}
		if o.webhookCertDir == "" {
			bad("webhook-cert-dir", `""`, "must not be empty: the server reads tls.crt and tls.key from it")
		}
	}
	if o.enableExtension {
		if err := port(o.extensionPort); err != nil {
			bad("extension-port", o.extensionPort, "%v", err)
		} else {
			listeners = append(listeners, listener{"extension-port", o.extensionHost, o.extensionPort})
		}
		if o.extensionCertDir == "" {
			bad("extension-cert-dir", `""`, "must not be empty: the server reads tls.crt and tls.key from it")
		}
		hooks, err := extension.ParseHooks(o.extensionHooks)
		if err != nil {
			bad("extension-hooks", o.extensionHooks, "%v", err)
		}
		o.parsedHooks = hooks
		// The controller observes an idle cluster every idle resync (and
		// its jitter): a shorter age blocks the hooks of healthy clusters
		// between ordinary observations.
		if o.maxObservationAge == 0 {
			o.maxObservationAge = gate.MaxObservationAgeFor(o.idleResync)
		}
		if least := gate.LongestIdle(o.idleResync) + controllers.Resync; o.maxObservationAge < least {
			bad("extension-max-observation-age", o.maxObservationAge, "must be at least %s (the controller observes an idle cluster every %s, --idle-resync and its jitter)",
				least, gate.LongestIdle(o.idleResync))
		}
	}
	for i, a := range listeners {
		for _, b := range listeners[i+1:] {
			if a.port == b.port && a.overlaps(b) {
				errs = append(errs, fmt.Errorf("--%s and --%s are both %d: they are separate servers and need separate ports", a.flag, b.flag, a.port))
			}
		}
	}
	return errors.Join(errs...)
}

// namespaceList parses a comma-separated list of namespace names, trimmed
// and without repeats, in the order given.
func namespaceList(value string) ([]string, error) {
	var out []string
	for _, ns := range strings.Split(value, ",") {
		ns = strings.TrimSpace(ns)
		if ns == "" {
			return nil, errors.New("an empty entry: want namespace names separated by single commas")
		}
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			return nil, fmt.Errorf("%q is not a namespace name: %s", ns, strings.Join(msgs, "; "))
		}
		if !slices.Contains(out, ns) {
			out = append(out, ns)
		}
	}
	return out, nil
}

// The lower bound of the informers' resync.
const minSyncPeriod = time.Second

// listener is a server's address, from the flag that sets its port.
type listener struct {
	flag string
	host string
	port int
}

// overlaps reports whether two listeners would bind the same address: the
// same host, or either on every interface.
func (l listener) overlaps(o listener) bool {
	wildcard := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return l.host == o.host || wildcard(l.host) || wildcard(o.host)
}

// bindAddress parses a host:port listen address.
func bindAddress(flag, addr string) (listener, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return listener{}, fmt.Errorf("not host:port: %w", err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return listener{}, fmt.Errorf("port %q is not a number", p)
	}
	if err := port(n); err != nil {
		return listener{}, err
	}
	return listener{flag, host, n}, nil
}

// port checks a TCP port a server listens on: 0 would not be a fixed port
// the Services and probes can reach (and the servers replace it with their
// default).
func port(n int) error {
	if n < 1 || n > 65535 {
		return fmt.Errorf("the port must be from 1 to 65535")
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
