package memberwait_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/membergate/membergate/pkg/memberwait"
)

// TestPollerReportsEveryEvaluationToEveryWaiter: OnUpdate is called after
// every evaluation, also for a wait that follows another's polls and was
// slow to take its updates (its goroutine descheduled, its callback busy):
// what it is told must not depend on when its goroutine got to run.
func TestPollerReportsEveryEvaluationToEveryWaiter(t *testing.T) {
	b := newBed(t, true)
	member := memberwait.Selector{PoolID: b.pool, ID: b.seeded.MemberIDs[0][0]}
	p := memberwait.NewPoller(memberwait.StatusTree(b.client), b.clk)
	opts := memberwait.Options{Clock: b.clk, Rand: func() float64 { return 0.5 }, SettleWindow: 20 * time.Second}

	var mu sync.Mutex
	var leaderAt, followerAt []time.Duration
	release := make(chan struct{})
	var once sync.Once
	lead := opts
	lead.OnUpdate = func(u memberwait.Update) {
		mu.Lock()
		defer mu.Unlock()
		leaderAt = append(leaderAt, u.Verdict.At.Sub(start))
		if len(leaderAt) == 4 {
			once.Do(func() { close(release) })
		}
	}
	follow := opts
	follow.OnUpdate = func(u memberwait.Update) {
		<-release // busy until the leader has polled four times
		mu.Lock()
		defer mu.Unlock()
		followerAt = append(followerAt, u.Verdict.At.Sub(start))
	}

	// Both register before time moves, so both take part in every poll.
	var wg sync.WaitGroup
	wait := func(o memberwait.Options, n int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := p.Wait(context.Background(), b.lb, []memberwait.Selector{member}, o); err != nil {
				t.Errorf("wait: %v", err)
			}
		}()
		for p.Waiting(b.lb) < n {
			runtime.Gosched()
		}
	}
	wait(lead, 1)
	wait(follow, 2)
	b.wait(wg.Wait)

	if len(leaderAt) < 5 {
		t.Fatalf("the leader was told of %d polls; the test needs more than four", len(leaderAt))
	}
	if len(followerAt) != len(leaderAt) {
		t.Fatalf("the follower was told of polls at %v, the leader of %v: want every evaluation reported to both", followerAt, leaderAt)
	}
	for i := range leaderAt {
		if followerAt[i] != leaderAt[i] {
			t.Fatalf("the follower was told of polls at %v, the leader of %v", followerAt, leaderAt)
		}
	}
}
