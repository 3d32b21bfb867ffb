package octaviatest

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"k8s.io/utils/clock"
)

// DefaultProjectID is the project used when Options.ProjectID is empty.
const DefaultProjectID = "5f0c8a3e9d2b4c6fa1e7b3d9c8f2a4e6"

// Options configure a Server.
type Options struct {
	// Clock drives status transitions, timestamps and injected latency.
	// Nil means clock.RealClock{}; tests pass a *testing.FakeClock.
	Clock clock.Clock
	// Delays is how long each kind of work takes; the zero value means DefaultDelays().
	Delays Delays
	// Seed makes fault injection and generated IDs repeatable.
	Seed int64
	// ProjectID owns seeded objects, is sent by ServiceClient as X-Project-Id
	// and is the project of Keystone tokens. Empty means DefaultProjectID.
	// Creates over plain HTTP still need X-Project-Id or project_id, as in Octavia.
	ProjectID string
	// Users, when non-nil, limits Keystone password authentication to these
	// user name (or ID) → password pairs; nil accepts any credentials.
	Users map[string]string
}

// Delays is the time from a mutation until the object, and the parents it
// locked, leave PENDING_*.
type Delays struct {
	LoadBalancer  time.Duration // load balancer create and update
	Listener      time.Duration
	Pool          time.Duration
	HealthMonitor time.Duration
	Member        time.Duration // member create, update and batch update
	Delete        time.Duration // every delete, until the object is gone (404)
}

// DefaultDelays returns the timings measured on real Octavia 11 with the
// amphora provider and noop drivers.
func DefaultDelays() Delays {
	return Delays{
		LoadBalancer:  1200 * time.Millisecond,
		Listener:      300 * time.Millisecond,
		Pool:          300 * time.Millisecond,
		HealthMonitor: 300 * time.Millisecond,
		Member:        700 * time.Millisecond,
		Delete:        500 * time.Millisecond,
	}
}

// Server is a running Octavia emulator listening on a loopback port.
type Server struct {
	// URL is the base URL, http://127.0.0.1:port, without a trailing slash.
	URL string

	ts        *httptest.Server
	clk       clock.Clock
	delays    Delays
	projectID string
	users     map[string]string
	closing   chan struct{}
	closeOnce sync.Once
	routes    []route

	mu       sync.Mutex // guards everything below
	st       *store
	counts   map[Operation]int
	total    int
	faults   []*faultEntry
	faultRNG *rand.Rand
	reqRNG   *rand.Rand
	scripts  []scriptRule
	tokens   map[string]string // Keystone token → project ID
}

// NewServer starts an emulator on 127.0.0.1 and returns it; Close stops it.
func NewServer(opts Options) *Server {
	s := NewUnstartedServer(opts)
	s.Start()
	return s
}

// NewUnstartedServer returns an emulator that listens but does not serve
// until Start is called.
func NewUnstartedServer(opts Options) *Server {
	s := &Server{
		clk:       opts.Clock,
		delays:    opts.Delays,
		projectID: opts.ProjectID,
		users:     opts.Users,
		closing:   make(chan struct{}),
		st:        newStore(opts.Seed),
		counts:    map[Operation]int{},
		faultRNG:  rand.New(rand.NewPCG(uint64(opts.Seed), 0x6661756c74730001)),
		reqRNG:    rand.New(rand.NewPCG(uint64(opts.Seed), 0x7265717565737401)),
		tokens:    map[string]string{},
	}
	if s.clk == nil {
		s.clk = clock.RealClock{}
	}
	if s.delays == (Delays{}) {
		s.delays = DefaultDelays()
	}
	if s.projectID == "" {
		s.projectID = DefaultProjectID
	}
	s.routes = s.buildRoutes()
	s.ts = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// Start serves requests; it panics if the server is already started.
func (s *Server) Start() {
	s.ts.Start()
	s.URL = s.ts.URL
}

// Close stops the server, ending requests still waiting on injected latency,
// and blocks until outstanding requests are done.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.ts.Close()
	})
}

// Handler returns the emulator's HTTP handler, to mount in a server of your own.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Endpoint is the load-balancer service endpoint as a Keystone catalog lists
// it: s.URL + "/". API paths below it start with v2/ (or v2.0/).
func (s *Server) Endpoint() string { return s.URL + "/" }

// ServiceClient returns a gophercloud client for the loadbalancer/v2 packages
// that talks to this server without Keystone. It sends X-Project-Id, as a
// noauth Octavia requires for creates. Call it after Start.
func (s *Server) ServiceClient() *gophercloud.ServiceClient {
	pc := &gophercloud.ProviderClient{}
	if c := s.ts.Client(); c != nil {
		pc.HTTPClient = *c
	}
	return &gophercloud.ServiceClient{
		ProviderClient: pc,
		Endpoint:       s.Endpoint(),
		ResourceBase:   s.URL + "/v2/",
		Type:           "load-balancer",
		MoreHeaders:    map[string]string{"X-Project-Id": s.projectID},
	}
}

// maxBody bounds request bodies; Octavia bodies are a few KiB.
const maxBody = 8 << 20

// request is what a handler sees of an HTTP request.
type request struct {
	method  string
	path    string // as sent
	query   url.Values
	header  http.Header
	body    []byte
	params  map[string]string
	now     time.Time
	baseURL string // scheme://host, for pagination links
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return
	}
	rt, params, miss := s.match(r.Method, r.URL.Path)
	op := Operation(r.Method + " " + r.URL.Path)
	if rt != nil {
		op = rt.op
	}

	s.mu.Lock()
	s.counts[op]++
	s.total++
	latency, code := s.pickFault(r.Method, r.URL.Path)
	reqID := "req-" + uuidFrom(s.reqRNG)
	s.mu.Unlock()

	if latency > 0 && !s.wait(r.Context(), latency) {
		// Drop the connection without a response, as a dying proxy would;
		// ErrAbortHandler keeps net/http from logging it.
		panic(http.ErrAbortHandler)
	}
	w.Header().Set("X-Openstack-Request-Id", reqID)

	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	rq := &request{method: r.Method, path: r.URL.Path, query: r.URL.Query(), header: r.Header,
		body: body, params: params, baseURL: scheme + "://" + r.Host}

	s.mu.Lock()
	rq.now = s.clk.Now()
	s.st.applyDue(rq.now)
	var resp response
	switch {
	case code != 0:
		resp = s.injectedResponse(code, rq)
	case rt != nil:
		resp = rt.handle(rq)
	default:
		resp = miss
	}
	s.mu.Unlock()
	resp.write(w)
}

// wait blocks for d on the injected clock; false means give up (closing or
// the client went away).
func (s *Server) wait(ctx context.Context, d time.Duration) bool {
	select {
	case <-s.clk.After(d):
		return true
	case <-s.closing:
		return false
	case <-ctx.Done():
		return false
	}
}

// projectOf is the caller's project: X-Project-Id under noauth, or the
// project of a token this server issued.
func (s *Server) projectOf(rq *request) string {
	if p := rq.header.Get("X-Project-Id"); p != "" {
		return p
	}
	if t := rq.header.Get("X-Auth-Token"); t != "" {
		return s.tokens[t]
	}
	return ""
}

func uuidFrom(r *rand.Rand) string {
	st := store{ids: r}
	return st.newID()
}

// trimPath splits a URL path into segments, ignoring a trailing slash.
func trimPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}
