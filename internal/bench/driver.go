package bench

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/membergate/membergate/pkg/memberwait/vclock"
)

// stallAfter is how long, in real time, the driver tolerates no progress
// before it declares the simulation stuck. A run that miscounts its actors
// would otherwise hang instead of failing.
const stallAfter = 2 * time.Minute

// actors tracks the goroutines a simulation drives and decides when the
// virtual clock may move: only when every live actor is parked on exactly
// one timer of the clock, so no request is in flight and no decision is
// half made.
//
// A waiter of a per-waiter strategy is one actor. Waiters that share a
// memberwait.Poller are one actor per load balancer: the Poller's leader
// parks on one timer for all of them while the others park on channels.
type actors struct {
	mu      sync.Mutex
	live    int            // waiters that have not returned
	perLB   map[string]int // live waiters per load balancer
	shared  bool
	changed chan struct{} // closed and replaced whenever live changes
}

func newActors(shared bool) *actors {
	return &actors{perLB: map[string]int{}, shared: shared, changed: make(chan struct{})}
}

// enter registers a waiter before its goroutine starts.
func (a *actors) enter(lb string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.live++
	a.perLB[lb]++
}

// exit unregisters a waiter whose wait has returned.
func (a *actors) exit(lb string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.live--
	if a.perLB[lb]--; a.perLB[lb] == 0 {
		delete(a.perLB, lb)
	}
	close(a.changed)
	a.changed = make(chan struct{})
}

// parked returns how many timers are armed when every live actor is parked,
// whether any waiter is still live, and a channel closed at the next change.
func (a *actors) parked() (timers int, live bool, changed <-chan struct{}) {
	a.mu.Lock()
	defer a.mu.Unlock()
	timers = a.live
	if a.shared {
		timers = len(a.perLB)
	}
	return timers, a.live > 0, a.changed
}

// drive advances clk whenever every live actor is parked, until none is
// live. ready, when set, must hold before time first moves: waiters that
// share a poll must all have registered, or a late one would miss the
// first poll and the schedule would depend on goroutine scheduling.
// atRest, when set, is called once, at the first moment everything is
// parked, before time first moves.
func drive(clk *vclock.Clock, a *actors, ready func() bool, atRest func()) {
	var progress atomic.Int64
	progress.Store(time.Now().UnixNano())
	stop := make(chan struct{})
	defer close(stop)
	go watchdog(clk, a, &progress, stop)

	first := true
	for {
		timers, live, changed := a.parked()
		if !live {
			return
		}
		if !clk.BlockUntilOr(timers, changed) {
			continue
		}
		if first {
			for ready != nil && !ready() {
				time.Sleep(20 * time.Microsecond)
			}
			if atRest != nil {
				atRest()
			}
			first = false
			// Registration may have armed or re-armed timers: look again.
			continue
		}
		clk.AdvanceToNext()
		progress.Store(time.Now().UnixNano())
	}
}

// watchdog crashes the process with every goroutine's stack when the
// simulation makes no progress for stallAfter: a miscounted actor or a
// strategy blocked outside the clock shows up as a hang otherwise.
func watchdog(clk *vclock.Clock, a *actors, progress *atomic.Int64, stop <-chan struct{}) {
	tick := time.NewTicker(stallAfter / 8)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			if time.Since(time.Unix(0, progress.Load())) < stallAfter {
				continue
			}
			timers, live, _ := a.parked()
			debug.SetTraceback("all")
			buf := make([]byte, 1<<22)
			buf = buf[:runtime.Stack(buf, true)]
			fmt.Fprintf(os.Stderr, "bench: virtual time stalled for %s: want %d parked timers (live=%v), %d armed at %s\n%s",
				stallAfter, timers, live, clk.Pending(), clk.Now().Format(time.RFC3339Nano), buf)
			os.Exit(2)
		}
	}
}
