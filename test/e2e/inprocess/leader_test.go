package inprocess

import (
	"context"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/client-go/tools/leaderelection"

	"github.com/membergate/membergate/test/e2e/inprocess/harness"
)

// The gate runs as two replicas electing their leader on a Lease, with
// cmd/manager's timing (controller-runtime's defaults), and the leader is
// killed — a crash: it keeps the Lease — while it holds an old Machine
// whose replacement's member is still PENDING_CREATE. The follower, whose
// cache has run all along but whose reconciler has not, takes over once the
// Lease has expired and no sooner; nothing is released or written while no
// replica leads, nor early after the takeover (the follower has no memory
// but the MemberGate status), and the rollout completes without ever
// losing a serving member.
func TestLeaderKilledMidHoldFollowerTakesOver(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	le := harness.DefaultLeaderElection
	gates, err := h.StartGateReplicas(ctx, "leader", 2, le)
	g.Expect(err).NotTo(HaveOccurred())
	for _, gp := range gates {
		t.Cleanup(func() { _ = gp.Kill() })
	}
	leader, err := h.WaitLeader(ctx, gates)
	g.Expect(err).NotTo(HaveOccurred())
	follower := gates[0]
	if follower == leader {
		follower = gates[1]
	}
	c, err := h.CreateCluster(ctx, harness.ClusterSpec{Namespace: "gate-leader", Name: "cp", Replicas: replicas,
		SettleWindow: settleWindow, Gate: leader.Name})
	g.Expect(err).NotTo(HaveOccurred())

	m := startMidHold(ctx, t, g, c)
	// The hold is the leader's: the follower has not reconciled.
	g.Expect(follower.Leads()).To(BeFalse())
	lease, err := h.Lease(ctx, leader.Name)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(lease.Holder).To(Equal(leader.Replica))

	// When the follower's manager says it leads (its reconciler starts).
	var mu sync.Mutex
	var takeoverAt time.Time
	tookOver := func() (time.Time, bool) {
		mu.Lock()
		defer mu.Unlock()
		return takeoverAt, !takeoverAt.IsZero()
	}
	elected := follower.Elected()
	go func() {
		select {
		case <-elected:
			mu.Lock()
			takeoverAt = time.Now()
			mu.Unlock()
		case <-ctx.Done():
		}
	}()

	m.kill(leader.Kill)
	// A crash: the Lease still names the dead leader.
	atKill, err := h.Lease(ctx, leader.Name)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(atKill.Holder).To(Equal(leader.Replica), "the killed leader gave its Lease up")
	_, early := tookOver()
	g.Expect(early).To(BeFalse(), "the follower led before the leader's Lease expired")

	// While no replica leads nothing moves; the follower must take over
	// once the Lease has expired: it tries every RetryPeriod, jittered by
	// up to JitterFactor, so it sees the last renewal up to one such period
	// late and acquires up to one period after expiry; apiSlack allows for
	// those two requests (a Get, then an Update) on a loaded machine, where
	// the takeover was measured up to 22.8 s after the last renewal.
	retry := time.Duration(float64(le.RetryPeriod) * (1 + leaderelection.JitterFactor))
	const apiSlack = 4 * time.Second
	deadline := atKill.Renewed.Add(le.LeaseDuration + 2*retry + apiSlack)
	g.Eventually(func() (bool, error) {
		err := m.down()
		if _, ok := tookOver(); ok {
			return true, nil
		}
		if err != nil {
			return false, StopTrying(err.Error())
		}
		return false, nil
	}).WithContext(ctx).WithTimeout(time.Until(deadline.Add(time.Second))).WithPolling(100*time.Millisecond).Should(BeTrue(),
		"the follower did not take over within %s of the last renewal", deadline.Sub(atKill.Renewed))
	took, _ := tookOver()
	g.Expect(took).To(BeTemporally(">=", atKill.Renewed.Add(le.LeaseDuration)), "the follower took over before the Lease expired")
	g.Expect(took).To(BeTemporally("<=", deadline), "the follower took over %s after the last renewal", took.Sub(atKill.Renewed))
	now, err := h.Lease(ctx, leader.Name)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(now.Holder).To(Equal(follower.Replica))
	g.Expect(now.Transitions).To(Equal(atKill.Transitions + 1))
	// The replacement's member served before the takeover: the new leader
	// could have credited time it did not watch.
	servingAt := timeline(m.rec.Recording(), m.replacement).MemberServing
	g.Expect(servingAt).NotTo(BeZero(), "%s's member did not serve while no replica led", m.replacement)
	g.Expect(servingAt).To(BeTemporally("<", took))
	t.Logf("the follower %s took over %.1fs after the kill, %.1fs after the dead leader's last renewal (lease duration %s, retry period %s); "+
		"%s's member serving for %.1fs by then", follower.Replica, took.Sub(m.killAt).Seconds(), took.Sub(atKill.Renewed).Seconds(),
		le.LeaseDuration, le.RetryPeriod, m.replacement, took.Sub(servingAt).Seconds())

	r := m.resumed(took, "the takeover")
	t.Logf("rolled out in %s; leader killed at +%.1fs, no leader for %.1fs, takeover → release of %s %.1fs (settle window %s); "+
		"%s held %.1fs in all; fewest serving members %d (required %d)",
		r.duration.Round(time.Second), m.killAt.Sub(m.start).Seconds(), took.Sub(m.killAt).Seconds(), m.held.Name,
		r.held.HookReleased.Sub(took).Seconds(), settleWindow, m.held.Name,
		r.held.HookReleased.Sub(r.held.DeletionSeen).Seconds(), r.got.MinServing, r.got.Required)
}
