package scope

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"

	"golang.org/x/time/rate"

	"github.com/membergate/membergate/pkg/memberwait"
)

// Budgeted wraps a source with a request budget that never blocks: when the
// budget is spent the observation fails with a retryable error, and the
// reconcile requeues instead of waiting.
func Budgeted(src memberwait.Source, lim *rate.Limiter) memberwait.Source {
	return budgeted{src: src, lim: lim}
}

type budgeted struct {
	src memberwait.Source
	lim *rate.Limiter
}

// ErrBudgetSpent is the retryable error of a spent request budget.
var ErrBudgetSpent = fmt.Errorf("request budget for this cloud spent; retrying later")

func (b budgeted) Observe(ctx context.Context, req memberwait.Request) (*memberwait.Snapshot, error) {
	if !b.lim.Allow() {
		return nil, ErrBudgetSpent
	}
	return b.src.Observe(ctx, req)
}

// budgetTransport takes a token of the cloud's budget per request, never
// waiting for one.
type budgetTransport struct {
	next http.RoundTripper
	lim  atomic.Pointer[rate.Limiter]
}

func (b *budgetTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if lim := b.lim.Load(); lim != nil && !lim.Allow() {
		return nil, ErrBudgetSpent
	}
	return b.next.RoundTrip(r)
}
