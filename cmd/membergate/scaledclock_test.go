package main

import (
	"testing"
	"time"
)

// The scaled clock's guarantees are lower bounds: a timer for virtual d
// never fires before virtual d has passed.
func TestScaledClockTimersFireInVirtualTime(t *testing.T) {
	c := newScaledClock(1000)
	start := c.Now()
	fired := <-c.NewTimer(2 * time.Second).C()
	if got := fired.Sub(start); got < 2*time.Second {
		t.Errorf("timer for 2s fired after %s of virtual time", got)
	}
	if got := c.Since(start); got < 2*time.Second {
		t.Errorf("Since = %s after a 2s timer", got)
	}
	<-c.After(time.Second)
	c.Sleep(time.Second)
	if got := c.Since(start); got < 4*time.Second {
		t.Errorf("Since = %s after 2s + 1s + 1s", got)
	}
}

func TestScaledClockStopAndReset(t *testing.T) {
	c := newScaledClock(1000)
	tm := c.NewTimer(time.Hour)
	if !tm.Stop() {
		t.Error("Stop of a pending timer = false")
	}
	start := c.Now()
	tm.Reset(time.Second)
	if got := (<-tm.C()).Sub(start); got < time.Second {
		t.Errorf("reset timer fired after %s, want >= 1s", got)
	}
	tk := c.NewTicker(time.Second)
	a, b := <-tk.C(), <-tk.C()
	tk.Stop()
	if b.Sub(a) < 500*time.Millisecond {
		t.Errorf("ticks %s apart, want about 1s", b.Sub(a))
	}
	done := make(chan struct{})
	c.AfterFunc(time.Second, func() { close(done) })
	<-done
}
