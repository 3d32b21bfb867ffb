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
