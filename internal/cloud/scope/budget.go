package scope

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/membergate/membergate/internal/metrics"
	"github.com/membergate/membergate/pkg/memberwait"
)

// Budget is what one request of one identity to one endpoint spends: a
// token of the identity's own budget and one of the endpoint's, which every
// identity reaching that endpoint shares — both or neither, never waiting.
// The endpoint's cap protects the cloud's API from all clusters together;
// the identity's, below it, keeps one tenant (whose endpoints, and how
// slowly they answer, are its own choice) from spending what the others
// need to see their members.
type Budget struct {
	Identity, Endpoint *rate.Limiter
}

// Allow takes the two tokens if both are there.
func (b Budget) Allow() bool {
	now := time.Now()
	var taken []*rate.Reservation
	for i, lim := range []*rate.Limiter{b.Identity, b.Endpoint} {
		if lim == nil {
			continue
		}
		r := lim.ReserveN(now, 1)
		if !r.OK() || r.DelayFrom(now) > 0 {
			r.CancelAt(now)
			for _, t := range taken {
				t.CancelAt(now)
			}
			metrics.BudgetExhausted.WithLabelValues([]string{metrics.BudgetIdentity, metrics.BudgetEndpoint}[i]).Inc()
			return false
		}
		taken = append(taken, r)
	}
	return true
}

// Budgeted wraps a source with a request budget that never blocks: when the
// budget is spent the observation fails with a retryable error, and the
// reconcile requeues instead of waiting.
func Budgeted(src memberwait.Source, b Budget) memberwait.Source {
	return budgeted{src: src, budget: b}
}

type budgeted struct {
	src    memberwait.Source
	budget Budget
}

// ErrBudgetSpent is the retryable error of a spent request budget.
var ErrBudgetSpent = fmt.Errorf("request budget spent (this identity's share, or its cloud endpoint's); retrying later")

func (b budgeted) Observe(ctx context.Context, req memberwait.Request) (*memberwait.Snapshot, error) {
	if !b.budget.Allow() {
		return nil, ErrBudgetSpent
	}
	return b.src.Observe(ctx, req)
}

// budgetTransport spends an identity's budget and that of the endpoint each
// request goes to, never waiting for a token.
type budgetTransport struct {
	next     http.RoundTripper
	identity *rate.Limiter
	// endpoint returns the shared budget of a request's scheme and host;
	// nil while the clients authenticate (see SecretSources.Network).
	endpoint atomic.Pointer[func(schemeHost string) *rate.Limiter]
}

func (b *budgetTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if f := b.endpoint.Load(); f != nil && !(Budget{Identity: b.identity, Endpoint: (*f)(r.URL.Scheme + "://" + r.URL.Host)}).Allow() {
		return nil, ErrBudgetSpent
	}
	return b.next.RoundTrip(r)
}
