package controllers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/internal/metrics"
	"github.com/membergate/membergate/internal/statustext"
	"github.com/membergate/membergate/pkg/gate/drain"
)

// reconcileDrain holds a Machine the release rule lets go until its members
// are out of rotation (weight 0 applied) and the drain period has passed,
// as drain.Decide plans, and puts the weights back when the rule stops
// holding mid-drain. It changes the decision the later phases carry out,
// and reads and changes only members of deleting Machines.
func (r *GateReconciler) reconcileDrain(ctx context.Context, s *gateScope) error {
	mg, out := s.memberGate, &s.outcome
	if out.Input.Paused || out.Snapshot == nil {
		// Without an observation nothing is known of the members, and no
		// release by the rule is made: the drains stay as they were.
		return nil
	}
	period := drainPeriodOf(mg)
	drains := drainsFromStatus(mg.Status.Drains)
	needs := drain.Needs(period, out.Decision, drains)
	if len(needs) == 0 {
		mg.Status.Drains = nil
		return nil
	}
	var errs []error
	lb, err := r.octavia(ctx, s.target.Identity)
	if err != nil {
		errs = append(errs, fmt.Errorf("reading the members to drain: %w", err))
	}
	in := drain.Input{Now: s.now, Period: period, Decision: out.Decision, Drains: drains}
	for _, gm := range out.Input.Machines {
		if !slices.Contains(needs, gm.Name) {
			continue
		}
		dm := drain.Machine{Name: gm.Name, Deleting: gm.Deleting, HasHook: gm.HasHook, HeldSince: gm.HeldSince}
		if i := slices.IndexFunc(s.machines, func(m clusterv1.Machine) bool { return m.Name == gm.Name }); i >= 0 {
			m := &s.machines[i]
			for _, p := range out.Snapshot.Pools {
				ms, ok := memberOf(m, s.target.LoadBalancerName, p)
				if !ok {
					continue
				}
				mb := drain.Member{PoolID: p.ID, ID: ms.ID, ProvisioningStatus: ms.ProvisioningStatus}
				if lb != nil {
					// The status tree carries no weight: one GET per member
					// of a Machine being released, never of an idle cluster.
					got, err := pools.GetMember(ctx, lb, p.ID, ms.ID).Extract()
					switch {
					case err == nil:
						mb.Weight, mb.Known, mb.ProvisioningStatus = got.Weight, true, got.ProvisioningStatus
					case !gophercloud.ResponseCodeIs(err, http.StatusNotFound):
						errs = append(errs, fmt.Errorf("reading member %s of Machine %s: %w", ms.ID, gm.Name, statustext.Wrap(err)))
					default:
						continue
					}
				}
				dm.Members = append(dm.Members, mb)
			}
		}
		in.Machines = append(in.Machines, dm)
	}
	plan := drain.Decide(in)
	for _, a := range plan.SetWeight {
		if lb == nil {
			break
		}
		w := a.Weight
		err := pools.UpdateMember(ctx, lb, a.PoolID, a.MemberID, pools.UpdateMemberOpts{Weight: &w}).Err
		switch {
		case err == nil:
		case gophercloud.ResponseCodeIs(err, http.StatusConflict), gophercloud.ResponseCodeIs(err, http.StatusNotFound):
			// Busy (sent again after drain.RetryInterval) or gone.
		default:
			errs = append(errs, fmt.Errorf("setting weight %d on member %s of Machine %s: %w", w, a.MemberID, a.Machine, statustext.Wrap(err)))
		}
	}
	for outcome, names := range map[string][]string{"drained": plan.Drained, "restored": plan.Undrained, "released_undrained": plan.Failed} {
		if len(names) > 0 {
			metrics.MemberDrains.WithLabelValues(s.cluster.Namespace, s.cluster.Name, outcome).Add(float64(len(names)))
		}
	}
	out.Decision = plan.Decision
	mg.Status.Drains = drainStatus(plan.Drains)
	if err := errors.Join(errs...); err != nil {
		// Not the reconcile's error: a drain Octavia does not apply is
		// tried again on the plan's schedule and ends with the drain
		// period, whereas an error would requeue with backoff and delay
		// the release.
		log.FromContext(ctx).Info("draining members", "cluster", s.cluster.Name, "error", err.Error())
	}
	return nil
}

// drainPeriodOf is the MemberGate's drain period; unset is the default,
// 0s is off.
func drainPeriodOf(mg *v1alpha1.MemberGate) (d time.Duration) {
	if p := mg.Spec.DrainPeriod; p != nil {
		return p.Duration
	}
	return v1alpha1.DefaultDrainPeriod
}

func drainsFromStatus(in []v1alpha1.DrainStatus) []drain.State {
	out := make([]drain.State, 0, len(in))
	for _, d := range in {
		s := drain.State{Machine: d.Machine, Started: d.StartedAt.Time, Restoring: d.Restoring, Released: d.Released}
		if d.LastActionAt != nil {
			s.LastAction = d.LastActionAt.Time
		}
		if d.AppliedAt != nil {
			s.Applied = d.AppliedAt.Time
		}
		if d.LastLookAt != nil {
			s.LastLook = d.LastLookAt.Time
		}
		for _, m := range d.Members {
			s.Members = append(s.Members, drain.MemberState{PoolID: m.PoolID, ID: m.ID, Weight: int(m.Weight)})
		}
		out = append(out, s)
	}
	return out
}

func drainStatus(in []drain.State) []v1alpha1.DrainStatus {
	var out []v1alpha1.DrainStatus
	for _, s := range in {
		d := v1alpha1.DrainStatus{Machine: s.Machine, StartedAt: metav1.NewTime(s.Started), Restoring: s.Restoring, Released: s.Released}
		if !s.LastAction.IsZero() {
			t := metav1.NewTime(s.LastAction)
			d.LastActionAt = &t
		}
		if !s.Applied.IsZero() {
			t := metav1.NewTime(s.Applied)
			d.AppliedAt = &t
		}
		if !s.LastLook.IsZero() {
			t := metav1.NewTime(s.LastLook)
			d.LastLookAt = &t
		}
		for _, m := range s.Members {
			d.Members = append(d.Members, v1alpha1.DrainedMember{PoolID: m.PoolID, ID: m.ID, Weight: int32(m.Weight)})
		}
		out = append(out, d)
	}
	return out
}
