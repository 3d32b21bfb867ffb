package bench

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
)

// kuryr-kubernetes' provisioning timer (controller/drivers/lbaasv2.py):
// _LB_STS_POLL_FAST_INTERVAL = 1 s, max_interval = 15 s, activation timeout
// 300 s.
const (
	kuryrInterval    = time.Second
	kuryrMaxInterval = 15 * time.Second
	kuryrTimeout     = 300 * time.Second
)

func kuryr() Strategy {
	return Strategy{
		Key: "kuryr", Name: "kuryr-kubernetes",
		Looks:    "GET load balancer",
		Schedule: "first check at once, then gaps ×2×gauss(0.8, 0.05) from 1 s (≈1.6, 2.6, 4.1 … s), capped at 15 s; 300 s",
		Errors:   "a 404 ends the wait (load balancer gone); other errors raise out of the wait",
		Judges:   "load balancer ACTIVE; ERROR releases the load balancer (failure)",
		Source: "kuryr-kubernetes (openstack/kuryr-kubernetes, retired) kuryr_kubernetes/controller/drivers/lbaasv2.py: " +
			"`_wait_for_provisioning`, `_provisioning_timer` (`_LB_STS_POLL_FAST_INTERVAL` 1 s, `max_interval` 15 s), " +
			"`_ensure_provisioned`, `_release`; activation timeout 300 s (OpenShift raised it to 1200 s)",
		New: func(c *Cloud) Runner { return kuryrRunner{c: c} },
	}
}

type kuryrRunner struct{ c *Cloud }

var (
	errKuryrReleased = errors.New("load balancer in ERROR: released")
	errKuryrGone     = errors.New("load balancer not found: CRD status cleaned")
)

// Wait is _wait_for_provisioning. kuryr runs it before each mutation of a
// load balancer and returns right after the POST (or DELETE) itself; here
// it runs right after the member's create or delete, which is what the
// next mutation would wait for — a model kinder to kuryr than the code.
func (r kuryrRunner) Wait(ctx context.Context, w Waiter) Outcome {
	rec := newRecorder(r.c)
	clk := r.c.Clock
	deadline := clk.Now().Add(kuryrTimeout)
	interval := kuryrInterval
	// oslo's StopWatch expires once elapsed passes the duration; on a
	// virtual clock time can sit exactly on it, which counts as expired.
	for clk.Now().Before(deadline) {
		rec.polls++
		lb, err := loadbalancers.Get(ctx, r.c.Client, w.LB).Extract()
		switch {
		case gophercloud.ResponseCodeIs(err, http.StatusNotFound):
			return rec.done(errKuryrGone)
		case err != nil:
			return rec.done(err)
		case lb.ProvisioningStatus == "ACTIVE":
			return rec.done(nil)
		case lb.ProvisioningStatus == "ERROR":
			return rec.done(errKuryrReleased)
		}
		interval = min(kuryrNext(interval, w.Rand), deadline.Sub(clk.Now()))
		if interval > 0 {
			clk.Sleep(interval)
		}
	}
	return rec.done(errBudget)
}

// kuryrNext is the provisioning timer's next interval: the last one
// × 2 × gauss(0.8, 0.05), at most max_interval.
func kuryrNext(interval time.Duration, rng *rand.Rand) time.Duration {
	return min(time.Duration(float64(interval)*2*(0.8+0.05*rng.NormFloat64())), kuryrMaxInterval)
}
