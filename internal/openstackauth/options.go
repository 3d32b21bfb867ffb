package openstackauth

import (
	"context"
	"net/http"
	"time"

	"github.com/gophercloud/gophercloud/v2"
)

// Options select the cloud and override parts of its settings. The zero
// value means: the cloud named by $OS_CLOUD in the clouds.yaml found by
// clientconfig's search, or else the OS_* environment variables alone.
type Options struct {
	// Cloud is the entry of clouds.yaml to use; empty means $OS_CLOUD. When
	// neither is set but CloudsFile is, a file with a single cloud selects
	// it; otherwise the OS_* variables alone describe the cloud.
	Cloud string
	// CloudsFile is the clouds.yaml to read; empty means clientconfig's
	// search order ($OS_CLIENT_CONFIG_FILE, ./clouds.yaml,
	// ~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml).
	CloudsFile string
	// EndpointOverride is the Octavia endpoint to use instead of the one in
	// Keystone's catalog; it wins over the cloud's
	// load_balancer_endpoint_override and $OS_ENDPOINT_OVERRIDE. Required,
	// in one of these forms, with auth_type none.
	EndpointOverride string
	// NetworkEndpointOverride is Neutron's endpoint, instead of the
	// catalog's; it wins over the cloud's network_endpoint_override and
	// $OS_NETWORK_ENDPOINT_OVERRIDE. Required with auth_type none for
	// NewClients.
	NetworkEndpointOverride string
	// ProjectID is the project to act in: sent as X-Project-Id with
	// auth_type none, the token's project scope otherwise (except with
	// application credentials, whose scope is fixed). Empty means the
	// cloud's auth.project_id or $OS_PROJECT_ID (noauth), or the cloud's
	// own scope (Keystone).
	ProjectID string
	// Region selects the catalog's endpoints and the cloud's per-region
	// settings, over the cloud's region_name and $OS_REGION_NAME (CAPO's
	// identityRef.region does the same for CAPO).
	Region string
	// UserAgent is prepended to gophercloud's User-Agent, so operators can
	// tell this tool's requests apart in Octavia's logs.
	UserAgent string
	// CloudsYAML, when set, is the clouds.yaml content to use instead of a
	// file (a controller reads it from CAPO's identity Secret);
	// CloudsSource names where it came from, for messages.
	CloudsYAML   []byte
	CloudsSource string
	// CACert, when set, is the PEM bundle to trust (the identity Secret's
	// "cacert"), over the cloud's cacert setting.
	CACert string
	// Getenv reads the environment; nil means os.Getenv. A controller
	// passes a function that returns "" so that the manager's own
	// environment never leaks into a cluster's credentials.
	Getenv func(string) string
	// WrapTransport, if set, wraps the HTTP transport (a controller counts
	// requests by operation and status code with it).
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// Transports, if set, shares the HTTP transport of the client with
	// every other client built with it and the same TLS settings; nil
	// gives the client a transport of its own.
	Transports *Transports
	// Tenant says the clouds.yaml is a tenant's (CAPO's identity Secret),
	// not the operator's: cacert, cert and key must be inline PEM, since a
	// path would read a file of the manager's own (its service-account
	// token, say); and verify: false is refused unless AllowInsecure.
	Tenant bool
	// AllowInsecure lets a tenant's clouds.yaml turn certificate checks off
	// (the manager's --allow-insecure-openstack-tls).
	AllowInsecure bool
}

// InsecureTLS reports whether the cloud opts describe turns certificate
// checks off (verify: false, or OS_INSECURE without a clouds.yaml).
func InsecureTLS(opts Options) (bool, error) {
	s, err := resolve(opts)
	if err != nil {
		return false, err
	}
	return s.tls.insecure, nil
}

// NoEnvironment is a Getenv that sees no variables.
func NoEnvironment(string) string { return "" }

// RequestTimeout bounds every HTTP request of the clients made here. Octavia
// and Keystone answer in well under a second, a large status tree in a few;
// a request that hangs is better failed and retried than waited on,
// because the callers' own timeouts are checked only between requests and
// a controller's worker waiting on one cloud serves no other.
const RequestTimeout = 10 * time.Second

// NewLoadBalancerClient returns a client for Octavia's v2 API, authenticated
// as opts and the environment say. Errors are a [*ConfigError] when the
// settings cannot work as written (malformed or missing clouds.yaml, unknown
// cloud, no credentials at all, no endpoint), an [*AuthError] when Keystone
// refuses the credentials or cannot be reached, or the context's error.
func NewLoadBalancerClient(ctx context.Context, opts Options) (*gophercloud.ServiceClient, error) {
	c, err := newClients(ctx, opts, false)
	if err != nil {
		return nil, err
	}
	return c.LoadBalancer, nil
}
