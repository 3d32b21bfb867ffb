package scope

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/membergate/membergate/internal/openstackauth"
)

// Breaker keeps workers off endpoints that do not answer. A request that
// times out opens the endpoint's breaker: for a while every request to it
// fails at once, then one request probes it while the others still fail
// at once, and any answer closes it again. Without it, every cluster of a
// hung cloud would hold a worker for a whole request timeout each
// reconcile, and with enough of them no worker would be left for the
// clusters of the clouds that answer.
type Breaker struct {
	// Now defaults to time.Now.
	Now func() time.Time
	// Timeout bounds each request; zero means openstackauth.RequestTimeout.
	Timeout time.Duration
	// Wait bounds the wait for a place (see InFlightPerEndpoint); zero
	// means SlotWait.
	Wait time.Duration

	mu    sync.Mutex
	m     map[string]*breakerState
	slots map[string]*places
}

// places are the requests in flight to one endpoint and when each began;
// answered says whether the endpoint has answered any.
type places struct {
	mu       sync.Mutex
	since    map[int]time.Time
	next     int
	answered bool
}

// oldest is when the longest-waiting request began; zero if none. p.mu is
// held.
func (p *places) oldestLocked() time.Time {
	var t time.Time
	for _, s := range p.since {
		if t.IsZero() || s.Before(t) {
			t = s
		}
	}
	return t
}

type breakerState struct {
	until   time.Time
	backoff time.Duration
	probing bool
}

// Breaker timings: the first opening lasts BreakerMin, each further
// timeout doubles it up to BreakerMax.
const (
	BreakerMin = 15 * time.Second
	BreakerMax = 2 * time.Minute
)

// InFlightPerEndpoint is how many requests may wait on one endpoint at
// once — one until the endpoint has answered anything (a slow start: a
// hung endpoint never gets past one) — and SlotWait how long a request
// waits for its turn before it fails as unresponsive. Before the first
// request to a hung endpoint times out, nothing is known; without a cap
// every worker could be waiting on it by then. Four in flight carry far
// more than an endpoint's request budget (a few per second at tens of
// milliseconds each).
const (
	InFlightPerEndpoint = 4
	SlotWait            = time.Second
	// SlowAfter: when every place is held by a request older than this,
	// the endpoint is not answering, and a request fails at once instead of
	// waiting for a place.
	SlowAfter = time.Second
)

// UnresponsiveError is the error of a request not sent because its
// endpoint did not answer lately. It is retryable.
type UnresponsiveError struct {
	Endpoint string
	Until    time.Time
	// Busy: every place for requests to the endpoint stayed taken by
	// requests that have not been answered.
	Busy bool
}

func (e *UnresponsiveError) Error() string {
	if e.Busy {
		return fmt.Sprintf("%s is slow to answer the requests it has; not asked more now", e.Endpoint)
	}
	return fmt.Sprintf("%s did not answer in time; not asked again before %s", e.Endpoint, e.Until.UTC().Format(time.RFC3339))
}

// Timeout marks the error as a timeout for net.Error-aware callers.
func (e *UnresponsiveError) Timeout() bool { return true }

// Temporary marks the error as transient.
func (e *UnresponsiveError) Temporary() bool { return true }

func (b *Breaker) now() time.Time {
	if b.Now == nil {
		return time.Now()
	}
	return b.Now()
}

// Wrap returns a transport that applies the breaker of each request's
// endpoint (scheme://host).
func (b *Breaker) Wrap(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		key := r.URL.Scheme + "://" + r.URL.Host
		probe, err := b.admit(key)
		if err != nil {
			return nil, err
		}
		release, err := b.slot(r.Context(), key)
		if err != nil {
			if probe {
				b.record(key, true, true)
			}
			return nil, err
		}
		timeout := b.Timeout
		if timeout == 0 {
			timeout = openstackauth.RequestTimeout
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		resp, err := next.RoundTrip(r.WithContext(ctx))
		release(err == nil)
		b.record(key, probe, timedOut(err))
		if err != nil {
			cancel()
			return resp, err
		}
		// The deadline covers the body too; it ends when the body is closed.
		resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
		return resp, nil
	})
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// slot waits up to the place wait for one of the endpoint's places and
// returns its release, to be told whether the endpoint answered.
func (b *Breaker) slot(ctx context.Context, key string) (func(answered bool), error) {
	b.mu.Lock()
	if b.slots == nil {
		b.slots = map[string]*places{}
	}
	p := b.slots[key]
	if p == nil {
		p = &places{since: map[int]time.Time{}}
		b.slots[key] = p
	}
	b.mu.Unlock()
	wait := b.Wait
	if wait == 0 {
		wait = SlotWait
	}
	deadline := time.Now().Add(wait)
	for {
		p.mu.Lock()
		limit := 1
		if p.answered {
			limit = InFlightPerEndpoint
		}
		if len(p.since) < limit {
			id := p.next
			p.next++
			p.since[id] = time.Now()
			p.mu.Unlock()
			return func(answered bool) {
				p.mu.Lock()
				delete(p.since, id)
				p.answered = p.answered || answered
				p.mu.Unlock()
			}, nil
		}
		oldest := p.oldestLocked()
		p.mu.Unlock()
		// Every place is taken: by requests being answered (wait a
		// moment), or by requests the endpoint is not answering (fail now).
		if time.Since(oldest) > SlowAfter || time.Now().After(deadline) {
			return nil, &UnresponsiveError{Endpoint: key, Busy: true}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// admit says whether a request may go, and whether it is the probe.
func (b *Breaker) admit(key string) (probe bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.m[key]
	if st == nil || st.until.IsZero() {
		return false, nil
	}
	now := b.now()
	if now.Before(st.until) || st.probing {
		return false, &UnresponsiveError{Endpoint: key, Until: st.until}
	}
	st.probing = true
	return true, nil
}

func (b *Breaker) record(key string, probe, timeout bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.m[key]
	if st == nil {
		if !timeout {
			return
		}
		if b.m == nil {
			b.m = map[string]*breakerState{}
		}
		st = &breakerState{}
		b.m[key] = st
	}
	if probe {
		st.probing = false
	}
	if !timeout {
		delete(b.m, key)
		return
	}
	switch {
	case st.backoff == 0:
		st.backoff = BreakerMin
	case probe:
		st.backoff = min(2*st.backoff, BreakerMax)
	}
	st.until = b.now().Add(st.backoff)
}

// timedOut reports whether a request failed by waiting too long (its own
// timeout or its context's deadline), not by an answer or a refusal.
func timedOut(err error) bool {
	if err == nil {
		return false
	}
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
