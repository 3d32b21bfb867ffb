package main

import (
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// scaledClock is a clock.Clock that runs speed times faster than real time,
// for the demo: the emulator, memberwait and the printed timestamps all
// live in its virtual time, so a minute of Octavia plays in six seconds at
// 10× without changing any duration in the code under demonstration.
// Virtual time starts at the real time of its creation.
type scaledClock struct {
	speed     float64
	realStart time.Time // with a monotonic reading
	virtStart time.Time
}

var _ clock.WithTickerAndDelayedExecution = (*scaledClock)(nil)

func newScaledClock(speed float64) *scaledClock {
	now := time.Now()
	return &scaledClock{speed: speed, realStart: now, virtStart: now.Round(0)}
}

// real converts a virtual duration to the real one.
func (c *scaledClock) real(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	r := time.Duration(float64(d) / c.speed)
	if r == 0 {
		r = 1 // keep "later" later
	}
	return r
}

// Now returns the virtual time.
func (c *scaledClock) Now() time.Time {
	return c.virtStart.Add(time.Duration(float64(time.Since(c.realStart)) * c.speed))
}

// Since returns the virtual time elapsed since t.
func (c *scaledClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// After is NewTimer(d).C().
func (c *scaledClock) After(d time.Duration) <-chan time.Time { return c.NewTimer(d).C() }

// Sleep sleeps for virtual d.
func (c *scaledClock) Sleep(d time.Duration) { time.Sleep(c.real(d)) }

// NewTimer returns a timer that fires after virtual d, delivering the
// virtual time.
func (c *scaledClock) NewTimer(d time.Duration) clock.Timer {
	t := &scaledTimer{clk: c, ch: make(chan time.Time, 1)}
	t.timer = time.AfterFunc(c.real(d), t.fire)
	return t
}

// AfterFunc runs f in its own goroutine after virtual d.
func (c *scaledClock) AfterFunc(d time.Duration, f func()) clock.Timer {
	return &scaledTimer{clk: c, timer: time.AfterFunc(c.real(d), f)}
}

// Tick is NewTicker(d).C(); like time.Tick, the ticker is never stopped.
func (c *scaledClock) Tick(d time.Duration) <-chan time.Time {
	if d <= 0 {
		return nil
	}
	return c.NewTicker(d).C()
}

// NewTicker returns a ticker with a virtual period d, delivering virtual
// times; it drops ticks for slow receivers, as time.Ticker does.
func (c *scaledClock) NewTicker(d time.Duration) clock.Ticker {
	t := &scaledTicker{ch: make(chan time.Time, 1), stop: make(chan struct{}), ticker: time.NewTicker(c.real(d))}
	go func() {
		for {
			select {
			case <-t.ticker.C:
				select {
				case t.ch <- c.Now():
				default:
				}
			case <-t.stop:
				return
			}
		}
	}()
	return t
}

// scaledTimer is a real timer whose channel carries virtual times. Like
// time.Timer since Go 1.23, Stop and Reset discard a value not yet received.
type scaledTimer struct {
	clk   *scaledClock
	ch    chan time.Time // nil for AfterFunc timers
	timer *time.Timer
}

func (t *scaledTimer) fire() {
	select {
	case t.ch <- t.clk.Now():
	default:
	}
}

func (t *scaledTimer) C() <-chan time.Time { return t.ch }

func (t *scaledTimer) Stop() bool {
	active := t.timer.Stop()
	t.drain()
	return active
}

func (t *scaledTimer) Reset(d time.Duration) bool {
	active := t.timer.Stop()
	t.drain()
	t.timer.Reset(t.clk.real(d))
	return active
}

func (t *scaledTimer) drain() {
	if t.ch == nil {
		return
	}
	select {
	case <-t.ch:
	default:
	}
}

type scaledTicker struct {
	ch       chan time.Time
	ticker   *time.Ticker
	stop     chan struct{}
	stopOnce sync.Once
}

func (t *scaledTicker) C() <-chan time.Time { return t.ch }

func (t *scaledTicker) Stop() {
	t.stopOnce.Do(func() {
		t.ticker.Stop()
		close(t.stop)
	})
}
