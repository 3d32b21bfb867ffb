package scope

import (
	"testing"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/time/rate"

	"github.com/membergate/membergate/internal/metrics"
)

// A refused request counts against the budget that refused it, so that an
// operator sees which to raise; a request both allow counts nowhere.
func TestASpentBudgetIsCountedByWhichBudget(t *testing.T) {
	g := NewWithT(t)
	count := func(budget string) float64 {
		return testutil.ToFloat64(metrics.BudgetExhausted.WithLabelValues(budget))
	}
	identity, endpoint := count("identity"), count("endpoint")

	b := Budget{Identity: rate.NewLimiter(rate.Limit(1e-9), 1), Endpoint: rate.NewLimiter(rate.Inf, 0)}
	g.Expect(b.Allow()).To(BeTrue())
	g.Expect(b.Allow()).To(BeFalse())
	g.Expect(count("identity")).To(Equal(identity + 1))
	g.Expect(count("endpoint")).To(Equal(endpoint))

	b = Budget{Identity: rate.NewLimiter(rate.Inf, 0), Endpoint: rate.NewLimiter(rate.Limit(1e-9), 1)}
	g.Expect(b.Allow()).To(BeTrue())
	g.Expect(b.Allow()).To(BeFalse())
	g.Expect(count("identity")).To(Equal(identity + 1))
	g.Expect(count("endpoint")).To(Equal(endpoint + 1))
}
