package bench

import (
	"math/rand/v2"
	"time"

	"github.com/membergate/membergate/pkg/memberwait/vclock"
)

// k8sBackoff is k8s.io/apimachinery's wait.Backoff, stepped as its
// Backoff.Step does: the gap grows by Factor after each step, and Jitter
// adds a random fraction in [0, Jitter) of the gap on top (it only
// lengthens). CAPO and OCCM run it through wait.ExponentialBackoff, neither
// with a Cap; it is re-implemented here because the real one sleeps on the
// wall clock.
type k8sBackoff struct {
	Duration time.Duration
	Factor   float64
	Jitter   float64
	Steps    int
}

// step returns the next gap and advances the backoff.
func (b *k8sBackoff) step(rng *rand.Rand) time.Duration {
	b.Steps--
	d := b.Duration
	if b.Factor != 0 {
		b.Duration = time.Duration(float64(b.Duration) * b.Factor)
	}
	if b.Jitter > 0 {
		d += time.Duration(rng.Float64() * b.Jitter * float64(d))
	}
	return d
}

// exponentialBackoff is wait.ExponentialBackoff on clk: check the condition
// first, then sleep one step, Steps checks in all; an error from the
// condition ends the wait with it; running out of steps gives errBudget
// (wait.ErrWaitTimeout).
func exponentialBackoff(clk *vclock.Clock, b k8sBackoff, rng *rand.Rand, cond func() (bool, error)) error {
	for b.Steps > 0 {
		if ok, err := cond(); err != nil || ok {
			return err
		}
		if b.Steps == 1 {
			break
		}
		clk.Sleep(b.step(rng))
	}
	return errBudget
}
