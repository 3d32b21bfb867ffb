package scope

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	clocktesting "k8s.io/utils/clock/testing"
)

// A hung endpoint costs one request timeout, then fails at once while its
// breaker is open; one probe goes when it may, and an answer closes it.
// Other endpoints are never affected.
func TestBreakerKeepsWorkersOffAHungEndpoint(t *testing.T) {
	g := NewWithT(t)
	var hang atomic.Bool
	hang.Store(true)
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hang.Load() {
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hung.Close()
	defer close(release)
	fine := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer fine.Close()

	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC))
	b := &Breaker{Now: clk.Now, Timeout: 50 * time.Millisecond}
	c := &http.Client{Transport: b.Wrap(http.DefaultTransport)}
	get := func(url string) (time.Duration, error) {
		start := time.Now()
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
		resp, err := c.Do(req)
		if err == nil {
			_ = resp.Body.Close()
		}
		return time.Since(start), err
	}

	took, err := get(hung.URL)
	g.Expect(errors.Is(err, context.DeadlineExceeded)).To(BeTrue(), "got %v", err)
	g.Expect(took).To(BeNumerically(">=", 50*time.Millisecond))
	for range 10 {
		took, err = get(hung.URL)
		var ue *UnresponsiveError
		g.Expect(errors.As(err, &ue)).To(BeTrue(), "got %v", err)
		g.Expect(took).To(BeNumerically("<", 50*time.Millisecond), "an open breaker waited")
	}
	_, err = get(fine.URL)
	g.Expect(err).NotTo(HaveOccurred(), "another endpoint")

	// The probe after BreakerMin times out again: open for twice as long.
	clk.Step(BreakerMin)
	_, err = get(hung.URL)
	g.Expect(errors.Is(err, context.DeadlineExceeded)).To(BeTrue(), "the probe: %v", err)
	clk.Step(BreakerMin)
	_, err = get(hung.URL)
	g.Expect(err).To(HaveOccurred(), "open for 2×BreakerMin after a failed probe")
	clk.Step(BreakerMin)
	hang.Store(false)
	_, err = get(hung.URL)
	g.Expect(err).NotTo(HaveOccurred(), "the probe that is answered")
	_, err = get(hung.URL)
	g.Expect(err).NotTo(HaveOccurred(), "closed again")
}

// Before the first request to a hung endpoint has timed out, one request
// waits on it (it has never answered: no more than one until it does); the
// others fail within the place's wait.
func TestBreakerCapsTheRequestsWaitingOnOneEndpoint(t *testing.T) {
	g := NewWithT(t)
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer hung.Close()
	defer close(release)
	b := &Breaker{Timeout: time.Minute, Wait: 50 * time.Millisecond}
	c := &http.Client{Transport: b.Wrap(http.DefaultTransport)}
	type result struct {
		took time.Duration
		err  error
	}
	results := make(chan result, 6)
	for range 6 {
		go func() {
			start := time.Now()
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, hung.URL, nil)
			ctx, cancel := context.WithTimeout(req.Context(), 500*time.Millisecond)
			defer cancel()
			resp, err := c.Do(req.WithContext(ctx))
			if err == nil {
				_ = resp.Body.Close()
			}
			results <- result{time.Since(start), err}
		}()
	}
	busy := 0
	for range 6 {
		r := <-results
		var ue *UnresponsiveError
		if errors.As(r.err, &ue) && ue.Busy {
			busy++
			g.Expect(r.took).To(BeNumerically("<", 400*time.Millisecond), "waited past its place's wait")
		}
	}
	g.Expect(busy).To(Equal(5), "an endpoint that never answered gets one request at a time")
}

// An endpoint that has answered gets InFlightPerEndpoint requests at once.
func TestBreakerOpensUpOnceAnEndpointAnswers(t *testing.T) {
	g := NewWithT(t)
	var slow atomic.Bool
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slow.Load() {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	b := &Breaker{Timeout: time.Minute, Wait: 50 * time.Millisecond}
	c := &http.Client{Transport: b.Wrap(http.DefaultTransport)}
	resp, err := c.Get(srv.URL)
	g.Expect(err).NotTo(HaveOccurred())
	_ = resp.Body.Close()

	slow.Store(true)
	errs := make(chan error, InFlightPerEndpoint+1)
	for range InFlightPerEndpoint + 1 {
		go func() {
			resp, err := c.Get(srv.URL)
			if err == nil {
				_ = resp.Body.Close()
			}
			errs <- err
		}()
	}
	var first error
	g.Eventually(errs).Should(Receive(&first))
	var ue *UnresponsiveError
	g.Expect(errors.As(first, &ue) && ue.Busy).To(BeTrue(), "the one past the cap: %v", first)
	close(release)
	for range InFlightPerEndpoint {
		g.Expect(<-errs).NotTo(HaveOccurred())
	}
}
