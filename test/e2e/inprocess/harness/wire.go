package harness

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// onTheWire carries a gate process's requests to the API server and knows
// which writes the server has not yet answered.
//
// A killed process's writes that were already sent are not undone by the
// kill: the API server goes on and may commit them after the process is
// gone. In-process, a cancelled context makes client-go give up on such a
// request at once, while the server still works on it; a test that reads
// the API server's state right after Kill could then see a write of the
// dead gate land a few milliseconds later and take it for a write made
// while the gate was down. So writes are sent on a context that the kill
// does not cancel, the caller is answered as before (with its context's
// error when it gives up), and Kill waits until the server has answered
// every write the gate sent: from then on, whatever the gate did is on the
// API server, and nothing more can come from it.
//
// Reads (and watches) keep their context: they change nothing, and a watch
// must end with its process.
type onTheWire struct {
	// writes counts the writes the server has not answered yet.
	writes sync.WaitGroup
}

// wrap is a rest.Config's WrapTransport: every client the gate's manager
// builds (its client, cache, recorder, discovery) goes through it.
func (t *onTheWire) wrap(next http.RoundTripper) http.RoundTripper {
	return &wireTransport{wire: t, next: next}
}

type wireTransport struct {
	wire *onTheWire
	next http.RoundTripper
}

func (w *wireTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet || req.Method == http.MethodHead {
		return w.next.RoundTrip(req)
	}
	t := w.wire
	type answer struct {
		resp *http.Response
		err  error
	}
	answered := make(chan answer, 1)
	sent := req.Clone(context.WithoutCancel(req.Context()))
	t.writes.Add(1)
	go func() {
		defer t.writes.Done()
		resp, err := w.next.RoundTrip(sent) //nolint:bodyclose // the caller closes it, or the abandoned-answer path below
		answered <- answer{resp, err}
	}()
	select {
	case a := <-answered:
		return a.resp, a.err
	case <-req.Context().Done():
		go func() {
			if a := <-answered; a.resp != nil {
				_ = a.resp.Body.Close()
			}
		}()
		return nil, req.Context().Err()
	}
}

// drain waits until the server has answered every write sent so far, or
// for timeout.
func (t *onTheWire) drain(timeout time.Duration) error {
	done := make(chan struct{})
	go func() {
		t.writes.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("the API server did not answer the gate's last writes within %s", timeout)
	}
}
