// Package vclock is a virtual clock for tests and simulations: time stands
// still until the driver advances it, straight to the next timer, so a
// five-minute wait runs in microseconds and the same inputs give the same
// schedule.
//
// It implements k8s.io/utils/clock.Clock. The driver's loop is: wait until
// every goroutine it drives is parked on a timer ([Clock.BlockUntil]), then
// jump to the earliest deadline ([Clock.AdvanceToNext]).
package vclock

import (
	"sort"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// Clock is a virtual clock. Its zero value is not usable; use [New].
type Clock struct {
	mu      sync.Mutex
	changed *sync.Cond
	now     time.Time
	timers  []*timer
	seq     int
}

var _ clock.WithTicker = (*Clock)(nil)

// New returns a clock that reads start until advanced.
func New(start time.Time) *Clock {
	c := &Clock{now: start}
	c.changed = sync.NewCond(&c.mu)
	return c
}

// Now returns the virtual time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Since returns the virtual time elapsed since t.
func (c *Clock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// Pending returns the number of armed timers and tickers.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// BlockUntil blocks until at least n timers are armed.
func (c *Clock) BlockUntil(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.timers) < n {
		c.changed.Wait()
	}
}

// BlockUntilOr blocks until at least n timers are armed, and reports true,
// or until stop is closed, and reports false.
func (c *Clock) BlockUntilOr(n int, stop <-chan struct{}) bool {
	quit := make(chan struct{})
	defer close(quit)
	go func() {
		select {
		case <-stop:
			c.mu.Lock()
			c.changed.Broadcast()
			c.mu.Unlock()
		case <-quit:
		}
	}()
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.timers) < n {
		select {
		case <-stop:
			return false
		default:
		}
		c.changed.Wait()
	}
	return true
}

// Drive advances time whenever at least n timers are armed, until stop is
// closed: the loop of a simulation whose goroutines park on n timers when
// they have nothing to do.
func (c *Clock) Drive(n int, stop <-chan struct{}) {
	for c.BlockUntilOr(n, stop) {
		c.AdvanceToNext()
	}
}

// Next returns the earliest armed deadline; ok is false when none is armed.
func (c *Clock) Next() (t time.Time, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return time.Time{}, false
	}
	return c.timers[0].deadline, true
}

// AdvanceToNext moves time to the earliest armed deadline and fires every
// timer due then. It returns false, without moving, when none is armed.
func (c *Clock) AdvanceToNext() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return false
	}
	c.setLocked(c.timers[0].deadline)
	return true
}

// Advance moves time forward by d, firing every timer due on the way.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setLocked(c.now.Add(d))
}

func (c *Clock) setLocked(t time.Time) {
	if t.After(c.now) {
		c.now = t
	}
	for len(c.timers) > 0 && !c.timers[0].deadline.After(c.now) {
		tm := c.timers[0]
		c.timers = c.timers[1:]
		select {
		case tm.ch <- c.now:
		default: // a ticker whose reader is behind drops ticks, as time.Ticker does
		}
		if tm.period > 0 {
			tm.deadline = tm.deadline.Add(tm.period)
			c.armLocked(tm)
		} else {
			tm.armed = false
		}
	}
	c.changed.Broadcast()
}

func (c *Clock) armLocked(tm *timer) {
	c.seq++
	tm.seq, tm.armed = c.seq, true
	c.timers = append(c.timers, tm)
	// Stable by deadline then arming order, so equal deadlines fire in the
	// order they were armed: the schedule is reproducible.
	sort.Slice(c.timers, func(i, j int) bool {
		a, b := c.timers[i], c.timers[j]
		if !a.deadline.Equal(b.deadline) {
			return a.deadline.Before(b.deadline)
		}
		return a.seq < b.seq
	})
	c.changed.Broadcast()
}

func (c *Clock) removeLocked(tm *timer) bool {
	for i, other := range c.timers {
		if other == tm {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			tm.armed = false
			c.changed.Broadcast()
			return true
		}
	}
	return false
}

func (c *Clock) newTimer(d, period time.Duration) *timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	tm := &timer{c: c, ch: make(chan time.Time, 1), deadline: c.now.Add(d), period: period}
	if d <= 0 && period == 0 {
		tm.ch <- c.now
		return tm
	}
	c.armLocked(tm)
	return tm
}

// NewTimer returns a timer that fires once virtual time reaches now+d.
func (c *Clock) NewTimer(d time.Duration) clock.Timer { return c.newTimer(d, 0) }

// After returns the channel of a new timer.
func (c *Clock) After(d time.Duration) <-chan time.Time { return c.newTimer(d, 0).ch }

// Sleep blocks until virtual time has advanced by d.
func (c *Clock) Sleep(d time.Duration) { <-c.After(d) }

// NewTicker returns a ticker with period d.
func (c *Clock) NewTicker(d time.Duration) clock.Ticker {
	if d <= 0 {
		panic("vclock: non-positive interval for NewTicker")
	}
	return &ticker{c.newTimer(d, d)}
}

// Tick returns the channel of a new ticker.
func (c *Clock) Tick(d time.Duration) <-chan time.Time { return c.NewTicker(d).C() }

type timer struct {
	c        *Clock
	ch       chan time.Time
	deadline time.Time
	period   time.Duration
	seq      int
	armed    bool
}

func (t *timer) C() <-chan time.Time { return t.ch }

func (t *timer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	return t.c.removeLocked(t)
}

func (t *timer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.c.removeLocked(t)
	t.deadline = t.c.now.Add(d)
	t.c.armLocked(t)
	return was
}

type ticker struct{ *timer }

func (t *ticker) Stop() { t.timer.Stop() }
