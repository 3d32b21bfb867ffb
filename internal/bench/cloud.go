package bench

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
	"github.com/membergate/membergate/pkg/memberwait/vclock"
)

// epoch is where every simulation's virtual clock starts. Only differences
// from it are reported.
var epoch = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// maxConns bounds the client's connections to one emulator. Requests beyond
// it queue for a connection, which takes no virtual time, so thousands of
// waiters polling at one instant do not need thousands of sockets.
const maxConns = 64

// Cloud is one emulated Octavia with its own virtual clock, and a
// gophercloud client that talks to it over loopback HTTP and logs every
// request with the virtual time it was sent at.
type Cloud struct {
	Clock  *vclock.Clock
	Octa   *octaviatest.Server
	Client *gophercloud.ServiceClient

	transport *http.Transport
	log       *requestLog
	lbs       []octaviatest.Seeded
}

// newCloud starts an emulator with default delays, the given seed for its
// fault injection, and a client.
func newCloud(seed int64) *Cloud {
	clk := vclock.New(epoch)
	octa := octaviatest.NewServer(octaviatest.Options{Clock: clk, Seed: seed})
	tr := &http.Transport{
		MaxConnsPerHost:     maxConns,
		MaxIdleConnsPerHost: maxConns,
		DisableCompression:  true,
	}
	log := &requestLog{clk: clk, next: tr}
	client := octa.ServiceClient()
	client.HTTPClient = http.Client{Transport: log}
	return &Cloud{Clock: clk, Octa: octa, Client: client, transport: tr, log: log}
}

// Close stops the emulator and drops the client's connections.
func (c *Cloud) Close() {
	c.transport.CloseIdleConnections()
	c.Octa.Close()
}

// Now is the virtual time elapsed since the simulation started.
func (c *Cloud) Now() time.Duration { return c.Clock.Since(epoch) }

// ResetCounters forgets the requests made so far (the setup's), so that
// only the waiters' requests are counted.
func (c *Cloud) ResetCounters() {
	c.Octa.ResetCounters()
	c.log.reset()
}

// Requests returns the requests sent since the last reset.
func (c *Cloud) Requests() []APIRequest { return c.log.all() }

// APIRequest is one API request as the client sent it.
type APIRequest struct {
	At   time.Duration // virtual time since the start
	Path string
}

// requestLog is an http.RoundTripper that records each request.
type requestLog struct {
	clk  *vclock.Clock
	next http.RoundTripper

	mu   sync.Mutex
	reqs []APIRequest
}

func (l *requestLog) RoundTrip(r *http.Request) (*http.Response, error) {
	at := l.clk.Since(epoch)
	l.mu.Lock()
	l.reqs = append(l.reqs, APIRequest{At: at, Path: r.URL.Path})
	l.mu.Unlock()
	return l.next.RoundTrip(r)
}

func (l *requestLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = nil
}

func (l *requestLog) all() []APIRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]APIRequest(nil), l.reqs...)
}

// objectID returns the ID that follows kind ("loadbalancers" or "pools") in
// an API path, or "".
func objectID(path, kind string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i := 0; i+1 < len(segs); i++ {
		if segs[i] == kind {
			return segs[i+1]
		}
	}
	return ""
}
