package vclock

import (
	"testing"
	"time"
)

var start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestTimersFireInDeadlineOrder(t *testing.T) {
	c := New(start)
	a, b := c.NewTimer(3*time.Second), c.NewTimer(time.Second)
	if !c.AdvanceToNext() {
		t.Fatal("no timer armed")
	}
	if got := c.Since(start); got != time.Second {
		t.Fatalf("advanced to %s, want 1s", got)
	}
	select {
	case <-b.C():
	default:
		t.Fatal("the 1s timer did not fire")
	}
	select {
	case <-a.C():
		t.Fatal("the 3s timer fired early")
	default:
	}
	if !a.Stop() || c.Pending() != 0 || c.AdvanceToNext() {
		t.Fatal("stopping the last timer left something armed")
	}
}

func TestBlockUntilAndSleep(t *testing.T) {
	c := New(start)
	done := make(chan time.Time)
	go func() { c.Sleep(time.Minute); done <- c.Now() }()
	c.BlockUntil(1)
	c.AdvanceToNext()
	if got := (<-done).Sub(start); got != time.Minute {
		t.Fatalf("woke at %s, want 1m", got)
	}
}

func TestTickerRearms(t *testing.T) {
	c := New(start)
	tk := c.NewTicker(10 * time.Second)
	for i := 1; i <= 3; i++ {
		c.AdvanceToNext()
		if got := (<-tk.C()).Sub(start); got != time.Duration(i)*10*time.Second {
			t.Fatalf("tick %d at %s", i, got)
		}
	}
	tk.Stop()
	if c.Pending() != 0 {
		t.Fatal("a stopped ticker stays armed")
	}
}

func TestResetAndZeroDuration(t *testing.T) {
	c := New(start)
	tm := c.NewTimer(time.Hour)
	tm.Reset(time.Second)
	c.AdvanceToNext()
	if got := c.Since(start); got != time.Second {
		t.Fatalf("reset timer fired at %s", got)
	}
	select {
	case <-c.After(0):
	default:
		t.Fatal("a zero timer must fire at once")
	}
	c.Advance(time.Minute)
	if got := c.Since(start); got != time.Minute+time.Second {
		t.Fatalf("Advance moved to %s", got)
	}
}

func TestDriveStops(t *testing.T) {
	c := New(start)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { c.Drive(1, stop); close(done) }()
	c.Sleep(time.Hour) // returns only because Drive advanced
	if got := c.Since(start); got != time.Hour {
		t.Fatalf("slept until %s", got)
	}
	close(stop)
	<-done
}

// A scaled clock's guarantees are lower bounds: a timer for virtual d never
// fires before virtual d has passed, however late the real one runs.
func TestScaledTimersFireInVirtualTime(t *testing.T) {
	c := NewScaled(start, 1000)
	if got := c.Now(); got.Before(start) || got.Sub(start) > time.Minute {
		t.Fatalf("a new scaled clock reads %s, want about %s", got, start)
	}
	begin := c.Now()
	fired := <-c.NewTimer(2 * time.Second).C()
	if got := fired.Sub(begin); got < 2*time.Second {
		t.Errorf("timer for 2s fired after %s of virtual time", got)
	}
	if got := c.Since(begin); got < 2*time.Second {
		t.Errorf("Since = %s after a 2s timer", got)
	}
	<-c.After(time.Second)
	c.Sleep(time.Second)
	if got := c.Since(begin); got < 4*time.Second {
		t.Errorf("Since = %s after 2s + 1s + 1s", got)
	}
	if c.Pending() != 0 {
		t.Errorf("%d timers still armed after they fired", c.Pending())
	}
}

func TestScaledTimeFlowsWithRealTime(t *testing.T) {
	c := NewScaled(start, 1000)
	begin := c.Now()
	time.Sleep(5 * time.Millisecond)
	if got := c.Since(begin); got < 5*time.Second {
		t.Errorf("5ms of real time at 1000x moved the clock %s, want at least 5s", got)
	}
	before := c.Now()
	c.Advance(time.Hour)
	if got := c.Since(before); got < time.Hour {
		t.Errorf("Advance(1h) moved the clock %s", got)
	}
}

func TestScaledStopResetAndTicker(t *testing.T) {
	c := NewScaled(start, 1000)
	tm := c.NewTimer(time.Hour)
	if !tm.Stop() {
		t.Error("Stop of a pending timer = false")
	}
	begin := c.Now()
	tm.Reset(time.Second)
	if got := (<-tm.C()).Sub(begin); got < time.Second {
		t.Errorf("reset timer fired after %s, want >= 1s", got)
	}
	armed := c.Now()
	tk := c.NewTicker(time.Second)
	a, b := <-tk.C(), <-tk.C()
	tk.Stop()
	if a.Sub(armed) < time.Second || b.Sub(armed) < 2*time.Second {
		t.Errorf("ticks at %s and %s after arming, want at least 1s and 2s", a.Sub(armed), b.Sub(armed))
	}
	if c.Pending() != 0 {
		t.Error("a stopped ticker stays armed")
	}
}

// A stopped timer's alarm must not fire the timers armed after it early.
func TestScaledStoppedAlarmFiresNothingEarly(t *testing.T) {
	c := NewScaled(start, 1000)
	early := c.NewTimer(time.Millisecond)
	early.Stop()
	begin := c.Now()
	late := c.NewTimer(3 * time.Second)
	if got := (<-late.C()).Sub(begin); got < 3*time.Second {
		t.Errorf("3s timer fired after %s", got)
	}
}

func TestNewScaledRejectsBadSpeeds(t *testing.T) {
	for _, speed := range []float64{0, -1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewScaled(speed %v) did not panic", speed)
				}
			}()
			NewScaled(start, speed)
		}()
	}
}
