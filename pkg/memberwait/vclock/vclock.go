// Package vclock is a virtual clock for tests and simulations: time stands
// still until the driver advances it, straight to the next timer, so a
// five-minute wait runs in microseconds and the same inputs give the same
// schedule.
//
// It implements k8s.io/utils/clock.Clock. The driver's loop is: wait until
// every goroutine it drives is parked on a timer ([Clock.BlockUntil]), then
// jump to the earliest deadline ([Clock.AdvanceToNext]).
//
// A clock made with [NewScaled] needs no driver: its time flows a fixed
// number of times faster than real time and its timers fire by themselves,
// so a demonstration plays minutes of Octavia in seconds while the code it
// shows keeps its real durations.
package vclock

import (
	"math"
	"sort"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// Clock is a virtual clock. Its zero value is not usable; use [New] or
// [NewScaled].
type Clock struct {
	mu      sync.Mutex
	changed *sync.Cond
	// now is the virtual time; on a scaled clock, the virtual time at
	// realStart, moved on by every jump ahead (Advance, AdvanceToNext).
	now    time.Time
	timers []*timer
	seq    int

	// speed is 0 for a clock that stands still until advanced; else the
	// virtual seconds per real second.
	speed     float64
	realStart time.Time // with a monotonic reading
	// alarm is a real timer set for the earliest deadline of a scaled clock.
	alarm *time.Timer
}

var _ clock.WithTicker = (*Clock)(nil)

// New returns a clock that reads start until advanced.
func New(start time.Time) *Clock {
	c := &Clock{now: start}
	c.changed = sync.NewCond(&c.mu)
	return c
}

// NewScaled returns a clock that reads start now and then runs speed times
// faster than real time: its timers fire once that much virtual time has
// passed, without a driver. Advance and AdvanceToNext still jump it ahead.
// speed must be positive and finite.
func NewScaled(start time.Time, speed float64) *Clock {
	if !(speed > 0) || math.IsInf(speed, 1) {
		panic("vclock: NewScaled needs a positive, finite speed")
	}
	c := New(start.Round(0)) // virtual times are wall times: no monotonic reading to mix with real ones
	c.speed, c.realStart = speed, time.Now()
	return c
}

// Now returns the virtual time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nowLocked()
}

func (c *Clock) nowLocked() time.Time {
	if c.speed == 0 {
		return c.now
	}
	return c.now.Add(time.Duration(float64(time.Since(c.realStart)) * c.speed))
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
	c.setLocked(c.nowLocked().Add(d))
}

// setLocked moves time to t, if that is ahead, and fires every timer due.
func (c *Clock) setLocked(t time.Time) {
	now := c.nowLocked()
	if t.After(now) {
		if c.speed == 0 {
			c.now = t
		} else {
			c.now = c.now.Add(t.Sub(now))
		}
		now = t
	}
	for len(c.timers) > 0 && !c.timers[0].deadline.After(now) {
		tm := c.timers[0]
		c.timers = c.timers[1:]
		select {
		case tm.ch <- now:
		default: // a ticker whose reader is behind drops ticks, as time.Ticker does
		}
		if tm.period > 0 {
			tm.deadline = tm.deadline.Add(tm.period)
			c.armLocked(tm)
		} else {
			tm.armed = false
		}
	}
	c.scheduleLocked()
	c.changed.Broadcast()
}

// scheduleLocked sets a scaled clock's real alarm for its earliest deadline.
func (c *Clock) scheduleLocked() {
	if c.speed == 0 {
		return
	}
	if len(c.timers) == 0 {
		if c.alarm != nil {
			c.alarm.Stop()
		}
		return
	}
	// Rounded up, so that the alarm rings when the deadline is due, but at
	// least 1ns: a deadline already due rings at once.
	wait := time.Duration(math.Ceil(float64(c.timers[0].deadline.Sub(c.nowLocked())) / c.speed))
	wait = max(wait, 1)
	if c.alarm == nil {
		c.alarm = time.AfterFunc(wait, c.ring)
	} else {
		c.alarm.Reset(wait)
	}
}

// ring fires the timers of a scaled clock that are due. An alarm can ring
// for a deadline that has since been stopped or reset, or a float rounding
// early: then it only sets the alarm again.
func (c *Clock) ring() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setLocked(c.nowLocked())
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
	c.scheduleLocked()
	c.changed.Broadcast()
}

func (c *Clock) removeLocked(tm *timer) bool {
	for i, other := range c.timers {
		if other == tm {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			tm.armed = false
			c.scheduleLocked()
			c.changed.Broadcast()
			return true
		}
	}
	return false
}

func (c *Clock) newTimer(d, period time.Duration) *timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.nowLocked()
	tm := &timer{c: c, ch: make(chan time.Time, 1), deadline: now.Add(d), period: period}
	if d <= 0 && period == 0 {
		tm.ch <- now
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
	t.deadline = t.c.nowLocked().Add(d)
	t.c.armLocked(t)
	return was
}

type ticker struct{ *timer }

func (t *ticker) Stop() { t.timer.Stop() }
