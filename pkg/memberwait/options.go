package memberwait

import (
	"math/rand/v2"
	"time"

	"k8s.io/utils/clock"
)

// Options say what to wait for and how. The zero value of every field means
// its default.
type Options struct {
	// Target defaults to Serving.
	Target Target
	// SettleWindow is how long a Serving member must stay ACTIVE and ONLINE
	// before it counts. An explicit duration wins over Settle; zero means
	// Settle decides; negative means none.
	SettleWindow time.Duration
	// Settle says where the window comes from when SettleWindow is zero:
	// SettleAuto (the zero value) derives it per pool from the pool's health
	// monitor, SettleFixed takes DefaultSettleWindow.
	Settle SettleMode
	// Heartbeat is how often amphorae report to Octavia's health manager
	// ([health_manager] heartbeat_interval), for SettleAuto; zero means
	// DefaultHeartbeat.
	Heartbeat time.Duration
	// NoMonitor says what NO_MONITOR means for a Serving wait.
	NoMonitor NoMonitorPolicy
	// NotFoundGrace is how long a missing member (or pool, or load balancer)
	// is taken for not yet visible before the wait fails with
	// [*NotFoundError]. Zero means DefaultNotFoundGrace; negative means none.
	NotFoundGrace time.Duration
	// Backoff schedules the polls.
	Backoff Backoff
	// OnlineWatch is how long after a Serving member is first seen ACTIVE
	// and OFFLINE the gap between polls is held at OnlineWatchGap, because
	// its first ONLINE comes with the next heartbeat. Zero means
	// DefaultOnlineWatch; negative turns the watch off.
	OnlineWatch time.Duration
	// OnlineWatchGap is the gap during the watch; zero means
	// DefaultOnlineWatchGap.
	OnlineWatchGap time.Duration
	// Timeout bounds a blocking wait on Clock, on top of the context. Zero
	// means only the context bounds it.
	Timeout time.Duration
	// Clock defaults to the real clock. Tests inject a fake one.
	Clock clock.Clock
	// Rand returns uniform numbers in [0, 1) for jitter; defaults to
	// math/rand/v2. Set it for reproducible schedules.
	Rand func() float64
	// OnUpdate, if set, is called by blocking waits after every evaluation
	// of a member, on the waiting goroutine.
	OnUpdate func(Update)
}

// Update is one evaluation of one member, reported to [Options.OnUpdate].
type Update struct {
	LoadBalancerID string
	Selector       Selector
	Verdict        Verdict
}

func (o Options) withDefaults() Options {
	if o.Target == 0 {
		o.Target = Serving
	}
	// SettleWindow keeps its sign: withDefaults runs again on options it
	// returned, and the window is resolved per pool (settleWindow).
	if o.Heartbeat <= 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	switch {
	case o.NotFoundGrace == 0:
		o.NotFoundGrace = DefaultNotFoundGrace
	case o.NotFoundGrace < 0:
		o.NotFoundGrace = 0
	}
	switch {
	case o.OnlineWatch == 0:
		o.OnlineWatch = DefaultOnlineWatch
	case o.OnlineWatch < 0:
		o.OnlineWatch = 0
	}
	if o.OnlineWatchGap <= 0 {
		o.OnlineWatchGap = DefaultOnlineWatchGap
	}
	o.Backoff = o.Backoff.withDefaults()
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	return o
}

// maxObservationGap is the longest time between two observations over
// which a settle window may run on: one and a half times the backoff's cap,
// the longest a settling member is otherwise left unobserved.
func (o Options) maxObservationGap() time.Duration {
	return o.Backoff.Max + o.Backoff.Max/2
}
