package bench

import (
	"context"
	"errors"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
)

// occmBackoff is OCCM's load-balancer wait (pkg/util/openstack/loadbalancer.go):
// 1 s ×1.2, 23 checks (OCCM_WAIT_LB_ACTIVE_STEPS), no jitter — ≈271 s.
var occmBackoff = k8sBackoff{Duration: time.Second, Factor: 1.2, Steps: 23}

func occm() Strategy {
	return Strategy{
		Key: "occm", Name: "OCCM",
		Looks:    "GET load balancer (after a batch member update)",
		Schedule: "1 s ×1.2, no jitter, 23 checks (≈271 s)",
		Errors:   "GET errors (404 too) logged, polling goes on",
		Judges:   "load balancer ACTIVE; load balancer ERROR fails at once",
		Source: "OCCM (kubernetes/cloud-provider-openstack) pkg/util/openstack/loadbalancer.go: `WaitActiveAndGetLoadBalancer`, " +
			"init delay 1 s, factor 1.2, 23 steps (`OCCM_WAIT_LB_ACTIVE_STEPS`), k8s.io/apimachinery `wait.ExponentialBackoff`",
		New: func(c *Cloud) Runner { return occmRunner{c: c} },
	}
}

type occmRunner struct{ c *Cloud }

var errLoadBalancerError = errors.New("loadbalancer has gone into ERROR state")

func (r occmRunner) Wait(ctx context.Context, w Waiter) Outcome {
	rec := newRecorder(r.c)
	err := exponentialBackoff(r.c.Clock, occmBackoff, w.Rand, func() (bool, error) {
		rec.polls++
		lb, err := loadbalancers.Get(ctx, r.c.Client, w.LB).Extract()
		switch {
		case err != nil:
			return false, nil //nolint:nilerr // OCCM logs it as a warning; the next step looks again
		case lb.ProvisioningStatus == "ACTIVE":
			return true, nil
		case lb.ProvisioningStatus == "ERROR":
			return true, errLoadBalancerError
		}
		return false, nil
	})
	return rec.done(err)
}
