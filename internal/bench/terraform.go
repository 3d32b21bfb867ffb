package bench

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"

	"github.com/membergate/membergate/pkg/memberwait/vclock"
)

// terraformTimeout is the provider's default create/delete timeout for
// openstack_lb_member_v2.
const terraformTimeout = 10 * time.Minute

func terraform() Strategy {
	return Strategy{
		Key: "terraform", Name: "Terraform",
		Looks:    "GET load balancer; while it is not PENDING_*, also GET member",
		Schedule: "first check at once, then 1, 2, 4, 8, 10, 10 … s (100 ms doubling, clamped to 1–10 s)",
		Errors:   "any error from a refresh ends the wait (409/5xx are retried only around create/delete calls); 404 ends a delete wait with success",
		Judges:   "member provisioning ACTIVE (delete: DELETED/404); any other member status (ERROR) fails at once; 10 min timeout",
		Source: "Terraform: terraform-provider-openstack/terraform-provider-openstack openstack/lb_v2_shared.go (`waitForLBV2Member`: " +
			"`StateChangeConf{Delay: 0, MinTimeout: 1s}`, `resourceLBV2MemberRefreshFunc`) with hashicorp/terraform-plugin-sdk v2 " +
			"helper/retry/state.go (`WaitForStateContext`: 100 ms, ×2, clamped to [MinTimeout, 10 s]); `checkForRetryableError` " +
			"(409/500/502/503/504) wraps only the provider's create and delete calls",
		New: func(c *Cloud) Runner { return terraformRunner{c: c} },
	}
}

type terraformRunner struct{ c *Cloud }

// Octavia statuses the provider lists for a member wait (lb_v2_shared.go).
var (
	tfPending       = []string{"PENDING_CREATE", "PENDING_UPDATE"}
	tfPendingDelete = []string{"ERROR", "PENDING_UPDATE", "PENDING_DELETE", "ACTIVE"}
	tfSkipLB        = []string{"ERROR", "ACTIVE"}
)

func (r terraformRunner) Wait(ctx context.Context, w Waiter) Outcome {
	rec := newRecorder(r.c)
	conf := stateChangeConf{Target: []string{"ACTIVE"}, Pending: tfPending, Timeout: terraformTimeout, MinTimeout: time.Second}
	if w.Gone {
		conf.Target, conf.Pending = []string{"DELETED"}, tfPendingDelete
	}
	conf.Refresh = func() (string, error) {
		rec.polls++
		lb, err := loadbalancers.Get(ctx, r.c.Client, w.LB).Extract()
		if err != nil {
			return "", err
		}
		if !slices.Contains(tfSkipLB, lb.ProvisioningStatus) {
			return lb.ProvisioningStatus, nil
		}
		m, err := pools.GetMember(ctx, r.c.Client, w.Pool, w.Member).Extract()
		if err != nil {
			return "", err
		}
		rec.memberStatus(m.ProvisioningStatus)
		return m.ProvisioningStatus, nil
	}
	err := conf.wait(r.c.Clock)
	if w.Gone && gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		err = nil // waitForLBV2Member: a 404 while waiting for DELETED is success
	}
	return rec.done(err)
}

// stateChangeConf is terraform-plugin-sdk's retry.StateChangeConf with the
// fields the member wait sets (Delay 0, no PollInterval, one target
// occurrence), run on a virtual clock.
type stateChangeConf struct {
	Pending, Target     []string
	Refresh             func() (state string, err error)
	Timeout, MinTimeout time.Duration
}

// wait is WaitForStateContext: refresh at once; after each pending refresh
// the wait doubles (from 100 ms) and is clamped to [MinTimeout, 10 s]; an
// error from Refresh ends the wait with it; a state neither pending nor
// target is an UnexpectedStateError; the timeout interrupts a sleep.
func (conf stateChangeConf) wait(clk *vclock.Clock) error {
	deadline := clk.Now().Add(conf.Timeout)
	var wait time.Duration
	for {
		if left := deadline.Sub(clk.Now()); wait >= left {
			clk.Sleep(left)
			return fmt.Errorf("timeout while waiting for state to become %v: %w", conf.Target, errBudget)
		}
		clk.Sleep(wait)
		if wait == 0 {
			wait = 100 * time.Millisecond
		}
		state, err := conf.Refresh()
		if err != nil {
			return err
		}
		if slices.Contains(conf.Target, state) {
			return nil
		}
		if !slices.Contains(conf.Pending, state) {
			return fmt.Errorf("unexpected state '%s', wanted target '%v'", state, conf.Target)
		}
		wait *= 2
		switch {
		case wait < conf.MinTimeout:
			wait = conf.MinTimeout
		case wait > 10*time.Second:
			wait = 10 * time.Second
		}
	}
}
