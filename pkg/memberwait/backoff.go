package memberwait

import (
	"math"
	"time"
)

// Default timing. The reasoning, with the peers' numbers, is in
// docs/memberwait.md; in short:
//
//   - DefaultInitialDelay: a member create takes 0.6–0.9 s on Octavia with
//     noop drivers and seconds with amphorae, so the first look after 1 s
//     usually sees the outcome; CAPO and OCCM also start at 1 s.
//   - DefaultFactor: 1.5 reaches the cap in six polls (CAPO's 1.25 needs
//     eleven and then keeps growing).
//   - DefaultMaxDelay: amphorae report operating status every 10 s, so
//     polling slower than that loses up to a heartbeat for nothing; CAPO's
//     uncapped backoff ends with gaps of 44 s and 55 s, kuryr caps at 15 s,
//     Terraform at 10 s. The cap is a hard bound: jitter only shortens.
//   - DefaultJitter: 20% spreads waiters that start together without
//     stretching any gap past the cap.
//   - DefaultSettleWindow: HAProxy adds a new server as UP before its first
//     check, so a member reads ONLINE and can fall to ERROR once
//     max_retries_down checks fail. With CAPO's monitor (delay 10 s, timeout
//     5 s, max_retries_down 3) that takes up to 3×10+5 = 35 s, plus 10 s for
//     the heartbeat that reports it: 45 s.
//   - DefaultOnlineWatch, DefaultOnlineWatchGap: a member that has just
//     turned ACTIVE reads ONLINE at the amphora's next heartbeat, within
//     10 s. For two heartbeats the gap is held at 2 s, so the moment the new
//     member starts serving is seen within 2 s, for at most 10 requests.
//   - DefaultNotFoundGrace: Octavia writes a member to its database before
//     answering the create, so a member that is still missing after a few
//     polls was never created (or was deleted by someone else).
const (
	DefaultInitialDelay   = 1 * time.Second
	DefaultFactor         = 1.5
	DefaultMaxDelay       = 10 * time.Second
	DefaultJitter         = 0.2
	DefaultSettleWindow   = 45 * time.Second
	DefaultNotFoundGrace  = 10 * time.Second
	DefaultOnlineWatch    = 20 * time.Second
	DefaultOnlineWatchGap = 2 * time.Second
)

// Backoff is a capped exponential schedule of gaps between polls. The zero
// value means the defaults; set fields override them one by one.
//
// The schedule is a function of how long the member's statuses have stayed
// the same, not of how many polls were made: gap = Initial + (Factor-1) *
// unchanged, capped at Max. A lone waiter polling on it polls at
// Initial*(Factor^n - 1)/(Factor - 1), gaps Initial*Factor^n: the usual
// exponential backoff. Unlike a step counter, extra observations (another
// waiter's poll on the same load balancer) neither stretch nor shrink it.
type Backoff struct {
	// Initial is the first gap after a status change.
	Initial time.Duration
	// Factor is the growth of the gap from one poll to the next.
	Factor float64
	// Max caps the gap. Jitter never pushes a gap past it.
	Max time.Duration
	// Jitter shortens each gap by a random fraction in [0, Jitter).
	// Negative disables jitter.
	Jitter float64
}

// DefaultBackoff returns the default schedule.
func DefaultBackoff() Backoff {
	return Backoff{Initial: DefaultInitialDelay, Factor: DefaultFactor, Max: DefaultMaxDelay, Jitter: DefaultJitter}
}

func (b Backoff) withDefaults() Backoff {
	d := DefaultBackoff()
	if b.Initial > 0 {
		d.Initial = b.Initial
	}
	if b.Factor >= 1 {
		d.Factor = b.Factor
	}
	if b.Max > 0 {
		d.Max = b.Max
	}
	if b.Jitter != 0 {
		d.Jitter = math.Max(0, math.Min(b.Jitter, 1))
	}
	if d.Max < d.Initial {
		d.Max = d.Initial
	}
	return d
}

// Delay returns the gap before the next poll when the statuses have not
// changed for unchanged, for a uniform random r in [0, 1).
func (b Backoff) Delay(unchanged time.Duration, r float64) time.Duration {
	b = b.withDefaults()
	if unchanged < 0 {
		unchanged = 0
	}
	return b.gap(float64(b.Initial)+(b.Factor-1)*float64(unchanged), r)
}

// Nth returns the n-th gap (n = 0 first) of the plain exponential schedule,
// Initial*Factor^n capped at Max, for a uniform random r in [0, 1): the
// schedule of retries after failed polls.
func (b Backoff) Nth(n int, r float64) time.Duration {
	b = b.withDefaults()
	return b.gap(float64(b.Initial)*math.Pow(b.Factor, float64(n)), r)
}

// gap caps a gap of d nanoseconds at Max and shortens it by the jitter.
func (b Backoff) gap(d, r float64) time.Duration {
	if d > float64(b.Max) || math.IsInf(d, 0) || math.IsNaN(d) {
		d = float64(b.Max)
	}
	return time.Duration(d * (1 - b.Jitter*r))
}
