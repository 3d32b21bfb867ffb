package scope

import (
	"context"
	"fmt"
	"github.com/gophercloud/gophercloud/v2"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/membergate/membergate/internal/openstackauth"
	"github.com/membergate/membergate/pkg/memberwait"
)

// SecretSources builds one Octavia client per identity from its Secret and
// keeps it while the Secret is unchanged. Every client shares its cloud's
// request budget, so many clusters on one cloud cannot flood its API.
//
// What is built from a Secret holds its credentials (and the tokens they
// got), so it does not outlive the Secret: it is dropped when the Secret is
// gone or changed, and when no reconcile has asked for it for IdentityIdle.
type SecretSources struct {
	Client client.Reader
	// Budget is requests per second per endpoint (Octavia's, Neutron's)
	// for every identity together, Burst its burst.
	Budget rate.Limit
	Burst  int
	// IdentityBudget is requests per second per identity, to all its
	// endpoints together, IdentityBurst its burst: below Budget, so no
	// tenant can spend the others' share. Zero means no limit of its own.
	IdentityBudget rate.Limit
	IdentityBurst  int
	// AllowInsecureTLS lets an identity's clouds.yaml say verify: false
	// (the manager's --allow-insecure-openstack-tls); without it such a
	// cloud is refused.
	AllowInsecureTLS bool
	// Clock defaults to the real clock.
	Clock clock.PassiveClock

	breaker    Breaker
	once       sync.Once
	mu         sync.Mutex
	clients    map[Identity]*cachedClients
	budgets    map[string]*rate.Limiter   // by endpoint: scheme://host
	identities map[Identity]*rate.Limiter // an identity's own budget
	// transports are shared by every client with the same TLS settings:
	// a thousand identities on five clouds hold five pools of connections,
	// not a thousand.
	transports openstackauth.Transports
}

// cachedClients are what was built from one version of an identity's
// Secret; nil fields are not built yet.
type cachedClients struct {
	resourceVersion string
	used            time.Time
	insecure        bool
	source          memberwait.Source
	network         *NetworkClients
	loadBalancer    *gophercloud.ServiceClient
}

// cachedLocked returns what was built from id's Secret at resourceVersion
// rv, dropping what an older version built; s.mu is held.
func (s *SecretSources) cachedLocked(id Identity, rv string) *cachedClients {
	now := s.now()
	for other, c := range s.clients {
		if now.Sub(c.used) > IdentityIdle {
			delete(s.clients, other)
			delete(s.identities, other)
		}
	}
	c := s.clients[id]
	if c == nil || c.resourceVersion != rv {
		c = &cachedClients{resourceVersion: rv}
		if s.clients == nil {
			s.clients = map[Identity]*cachedClients{}
		}
		s.clients[id] = c
	}
	c.used = now
	return c
}

// IdentityIdle is how long the clients of an identity no reconcile asks
// for are kept: longer than any cadence of the reconcilers (the slowest
// looks every few minutes), so only identities no cluster uses go.
const IdentityIdle = time.Hour

func (s *SecretSources) now() time.Time {
	if s.Clock == nil {
		return time.Now()
	}
	return s.Clock.Now()
}

// Source implements SourceFactory.
//
// Clients are built outside the lock: authenticating waits on the tenant's
// Keystone, and one that never answers must hold only its own reconciles.
// Two reconciles of one identity may both build; the first stored wins.
func (s *SecretSources) Source(ctx context.Context, id Identity) (memberwait.Source, error) {
	rv, opts, err := s.options(ctx, id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	src := s.cachedLocked(id, rv).source
	s.mu.Unlock()
	if src != nil {
		return src, nil
	}
	opts.WrapTransport = func(next http.RoundTripper) http.RoundTripper { return countRequests(s.guard(next)) }
	sc, err := openstackauth.NewLoadBalancerClient(ctx, opts)
	if err != nil {
		return nil, err
	}
	insecure, _ := openstackauth.InsecureTLS(opts)
	tree := memberwait.StatusTree(sc)
	if s.Clock != nil {
		// What the source keeps (the monitors' parameters) ages by the
		// same clock as the reconcilers' decisions.
		tree = memberwait.WithClock(tree, s.Clock)
	}
	src = Budgeted(tree, Budget{Identity: s.identityLimiter(id), Endpoint: s.endpointLimiter(schemeHost(sc.ResourceBase))})
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cachedLocked(id, rv)
	if c.source == nil {
		c.source, c.insecure = src, insecure
	}
	return c.source, nil
}

// Network implements NetworkFactory from the same identity Secret as
// Source, with the same per-cloud budget. The clients are kept while the
// Secret is unchanged. Neutron's endpoint comes from Keystone's catalog, or
// the cloud's network_endpoint_override.
func (s *SecretSources) Network(ctx context.Context, id Identity) (*NetworkClients, error) {
	rv, opts, err := s.options(ctx, id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	nc := s.cachedLocked(id, rv).network
	s.mu.Unlock()
	if nc != nil {
		return nc, nil
	}
	bt := &budgetTransport{identity: s.identityLimiter(id)}
	opts.WrapTransport = func(next http.RoundTripper) http.RoundTripper {
		bt.next = countAPIRequests(s.guard(next))
		return bt
	}
	// Outside the lock, as in Source.
	cs, err := openstackauth.NewClients(ctx, opts)
	if err != nil {
		return nil, err
	}
	// Authentication went unbudgeted (the endpoints, hence their budgets,
	// are known only after it); every request from here on spends the
	// identity's budget and that of the endpoint it goes to — Octavia's or
	// Neutron's, so a tenant's own Neutron spends no one else's.
	endpoint := s.endpointLimiter
	bt.endpoint.Store(&endpoint)
	nc = &NetworkClients{LoadBalancer: cs.LoadBalancer, Network: cs.Network, Cloud: cs.LoadBalancer.ResourceBase, ProjectID: cs.ProjectID,
		Key: fmt.Sprintf("%s/%s@%s cloud=%q region=%q octavia=%s neutron=%s", id.Namespace, id.SecretName, rv, id.CloudName, id.Region,
			cs.LoadBalancer.ResourceBase, cs.Network.ResourceBase)}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cachedLocked(id, rv)
	if c.network == nil {
		c.network = nc
	}
	return c.network, nil
}

// LoadBalancer implements LoadBalancerFactory: an Octavia client of the
// identity for the few changes the gate makes to members, spending the
// same budgets as Network's clients. Kept while the Secret is unchanged.
func (s *SecretSources) LoadBalancer(ctx context.Context, id Identity) (*gophercloud.ServiceClient, error) {
	rv, opts, err := s.options(ctx, id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	lb := s.cachedLocked(id, rv).loadBalancer
	s.mu.Unlock()
	if lb != nil {
		return lb, nil
	}
	bt := &budgetTransport{identity: s.identityLimiter(id)}
	opts.WrapTransport = func(next http.RoundTripper) http.RoundTripper {
		bt.next = countRequests(s.guard(next))
		return bt
	}
	// Outside the lock, as in Source; authentication goes unbudgeted, as
	// in Network.
	sc, err := openstackauth.NewLoadBalancerClient(ctx, opts)
	if err != nil {
		return nil, err
	}
	endpoint := s.endpointLimiter
	bt.endpoint.Store(&endpoint)
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cachedLocked(id, rv)
	if c.loadBalancer == nil {
		c.loadBalancer = sc
	}
	return c.loadBalancer, nil
}

// options reads an identity's Secret into client options: its clouds.yaml,
// cloud and CA bundle, never the manager's own environment.
func (s *SecretSources) options(ctx context.Context, id Identity) (string, openstackauth.Options, error) {
	var secret corev1.Secret
	if err := s.Client.Get(ctx, types.NamespacedName{Namespace: id.Namespace, Name: id.SecretName}, &secret); err != nil {
		if apierrors.IsNotFound(err) {
			// Its credentials go with it.
			s.mu.Lock()
			delete(s.clients, id)
			s.mu.Unlock()
		}
		return "", openstackauth.Options{}, fmt.Errorf("reading identity Secret %s/%s: %w", id.Namespace, id.SecretName, err)
	}
	clouds, ok := secret.Data["clouds.yaml"]
	if !ok {
		return "", openstackauth.Options{}, fmt.Errorf("identity Secret %s/%s has no clouds.yaml key", id.Namespace, id.SecretName)
	}
	cloud := id.CloudName
	if v, ok := secret.Data["cloudName"]; ok && cloud == "" {
		cloud = string(v)
	}
	return secret.ResourceVersion, openstackauth.Options{
		Cloud: cloud, CloudsYAML: clouds, CloudsSource: fmt.Sprintf("Secret %s/%s", id.Namespace, id.SecretName),
		CACert: string(secret.Data["cacert"]), Getenv: openstackauth.NoEnvironment, UserAgent: "membergate",
		Tenant: true, AllowInsecure: s.AllowInsecureTLS, Transports: &s.transports,
		// CAPO's identityRef.region overrides the clouds.yaml's region_name
		// for CAPO; the gate must read the same region's Octavia.
		Region: id.Region,
	}, nil
}

// InsecureTLS reports whether the clients built for an identity check no
// certificates (its clouds.yaml says verify: false, which the manager was
// started to allow): the gate says so in a Warning event.
func (s *SecretSources) InsecureTLS(id Identity) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.clients[id]
	return c != nil && c.insecure
}

// guard puts the shared breaker (see Breaker) under a client's requests.
func (s *SecretSources) guard(next http.RoundTripper) http.RoundTripper {
	s.once.Do(func() { s.breaker.Now = s.now })
	return s.breaker.Wrap(next)
}

// endpointLimiter returns the request budget every identity shares for one
// endpoint (scheme://host).
func (s *SecretSources) endpointLimiter(endpoint string) *rate.Limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return limiterFor(&s.budgets, endpoint, s.Budget, s.Burst)
}

// identityLimiter returns an identity's own budget; nil when there is none.
func (s *SecretSources) identityLimiter(id Identity) *rate.Limiter {
	if s.IdentityBudget == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return limiterFor(&s.identities, id, s.IdentityBudget, s.IdentityBurst)
}

// limiterFor returns the limiter of key in *m, made with r and burst on
// first use; the caller holds the lock guarding *m.
func limiterFor[K comparable](m *map[K]*rate.Limiter, key K, r rate.Limit, burst int) *rate.Limiter {
	if *m == nil {
		*m = map[K]*rate.Limiter{}
	}
	lim, ok := (*m)[key]
	if !ok {
		lim = rate.NewLimiter(r, burst)
		(*m)[key] = lim
	}
	return lim
}

// schemeHost is a URL's scheme://host, the key of an endpoint's budget:
// the API's path is the tenant's to choose, the host is what is protected.
func schemeHost(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	return u.Scheme + "://" + u.Host
}
