package bench

import (
	"context"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
)

// capoBackoff is the backoff of CAPO's load-balancer service
// (pkg/cloud/services/loadbalancer/loadbalancer.go): 20 checks, gaps from
// 1 s growing ×1.25 with up to 10 % jitter added, no cap — 19 gaps of
// ≈274 s in all, the last two ≈44 s and ≈55 s.
var capoBackoff = k8sBackoff{Duration: time.Second, Factor: 1.25, Jitter: 0.1, Steps: 20}

const capoSource = "CAPO (kubernetes-sigs/cluster-api-provider-openstack) pkg/cloud/services/loadbalancer/loadbalancer.go: " +
	"`waitForLoadBalancerActive` after `CreatePoolMember` (issue #2763: amphorav2 members not yet serving), v0.14 PR #2815 " +
	"`waitForPoolMemberActive`; backoff `wait.Backoff{Steps: 20, Duration: 1s, Factor: 1.25, Jitter: 0.1}` run by " +
	"k8s.io/apimachinery `wait.ExponentialBackoff`"

func capo013() Strategy {
	return Strategy{
		Key: "capo-0.13", Name: "CAPO ≤ v0.13",
		Looks:    "GET load balancer",
		Schedule: "1 s ×1.25, +0–10 % jitter, no cap, 20 checks (≈274 s)",
		Errors:   "any GET error (404 too) aborts",
		Judges:   "load balancer ACTIVE (ERROR not terminal)",
		Source:   capoSource,
		New:      func(c *Cloud) Runner { return capoRunner{c: c} },
	}
}

func capo014() Strategy {
	return Strategy{
		Key: "capo-0.14", Name: "CAPO v0.14+",
		Looks:    "GET load balancer, then GET member",
		Schedule: "same backoff, once for the load balancer, again for the member",
		Errors:   "any GET error (404 too) aborts",
		Judges:   "member provisioning ACTIVE (no operating status, no ERROR fast-fail); no wait on member delete",
		Source:   capoSource,
		New:      func(c *Cloud) Runner { return capoRunner{c: c, member: true} },
	}
}

// capoRunner waits as CAPO does after CreatePoolMember (and after
// DeletePoolMember, where every version waits for the load balancer only).
type capoRunner struct {
	c      *Cloud
	member bool
}

func (r capoRunner) Wait(ctx context.Context, w Waiter) Outcome {
	rec := newRecorder(r.c)
	err := exponentialBackoff(r.c.Clock, capoBackoff, w.Rand, func() (bool, error) {
		rec.polls++
		lb, err := loadbalancers.Get(ctx, r.c.Client, w.LB).Extract()
		if err != nil {
			return false, err
		}
		return lb.ProvisioningStatus == "ACTIVE", nil
	})
	if err != nil || !r.member || w.Gone {
		return rec.done(err)
	}
	err = exponentialBackoff(r.c.Clock, capoBackoff, w.Rand, func() (bool, error) {
		rec.polls++
		m, err := pools.GetMember(ctx, r.c.Client, w.Pool, w.Member).Extract()
		if err != nil {
			return false, err
		}
		rec.memberStatus(m.ProvisioningStatus)
		return m.ProvisioningStatus == "ACTIVE", nil
	})
	return rec.done(err)
}
