package controllers

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/conditions"
	"sigs.k8s.io/cluster-api/util/patch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/memberwait"
)

// apply carries a decision out: hooks and conditions on Machines (through
// CAPI's patch helper, owning only our condition), events, the MemberGate
// status and metrics.
func (r *GateReconciler) apply(ctx context.Context, cluster *clusterv1.Cluster, mg *v1alpha1.MemberGate, machines []clusterv1.Machine,
	in gate.Input, d gate.Decision, verdicts map[string]map[string]memberwait.Verdict, snap *memberwait.Snapshot, sg *sgOutcome) error {
	statusOf := map[string]gate.MachineStatus{}
	for _, st := range d.Machines {
		statusOf[st.Name] = st
	}
	release := map[string]gate.Release{}
	for _, rel := range d.Release {
		release[rel.Machine] = rel
	}
	var errs []error
	for i := range machines {
		if err := r.patchMachine(ctx, &machines[i], in, statusOf, release, slices.Contains(d.AddHook, machines[i].Name), sg.note(machines[i].Name)); err != nil {
			errs = append(errs, err)
		}
	}
	byName := map[string]*clusterv1.Machine{}
	for i := range machines {
		byName[machines[i].Name] = &machines[i]
	}
	for _, e := range d.Events {
		typ := corev1.EventTypeNormal
		if e.Warning {
			typ = corev1.EventTypeWarning
		}
		var regarding client.Object = mg
		if m := byName[e.Machine]; m != nil {
			regarding = m
		}
		r.Recorder.Eventf(regarding, mg, typ, e.Reason, "Gate", "%s", e.Message)
	}
	if in.Paused {
		return kerrors.NewAggregate(errs)
	}
	if err := r.patchStatus(ctx, mg, in, d, verdicts, snap, sg); err != nil {
		errs = append(errs, err)
	}
	recordMetrics(cluster, in, d)
	return kerrors.NewAggregate(errs)
}

func (r *GateReconciler) patchMachine(ctx context.Context, m *clusterv1.Machine, in gate.Input, statusOf map[string]gate.MachineStatus,
	release map[string]gate.Release, addHook bool, note string) error {
	helper, err := patch.NewHelper(m, r.Client)
	if err != nil {
		return err
	}
	if addHook {
		if m.Annotations == nil {
			m.Annotations = map[string]string{}
		}
		m.Annotations[v1alpha1.PreDrainHookAnnotation] = v1alpha1.HookOwner
	}
	if _, ok := release[m.Name]; ok {
		delete(m.Annotations, v1alpha1.PreDrainHookAnnotation)
	}
	switch st, ok := statusOf[m.Name]; {
	case ok:
		status := metav1.ConditionFalse
		if st.MemberReady {
			status = metav1.ConditionTrue
		}
		msg := st.Message
		if st.Held {
			msg = fmt.Sprintf("held since %s: %s", st.HeldSince.UTC().Format("2006-01-02T15:04:05Z"), msg)
		}
		if note != "" && !st.MemberReady {
			// Why the member fails, as far as its security groups tell.
			msg += "; " + note
		}
		conditions.Set(m, metav1.Condition{Type: v1alpha1.MemberReadyCondition, Status: status, Reason: st.Reason, Message: msg})
	case in.Policy.Mode == gate.Disabled:
		conditions.Delete(m, v1alpha1.MemberReadyCondition)
	}
	return helper.Patch(ctx, m, patch.WithOwnedConditions{Conditions: []string{v1alpha1.MemberReadyCondition}})
}

func (r *GateReconciler) patchStatus(ctx context.Context, mg *v1alpha1.MemberGate, in gate.Input, d gate.Decision,
	verdicts map[string]map[string]memberwait.Verdict, snap *memberwait.Snapshot, sg *sgOutcome) error {
	orig := mg.DeepCopy()
	sg.writeStatus(mg)
	s := &mg.Status
	s.ObservedGeneration = mg.Generation
	now := metav1.NewTime(in.Now)
	s.LastChecked = &now
	s.LoadBalancerID = in.LoadBalancer.ID
	s.LoadBalancerStatus = ""
	if snap != nil && snap.Found {
		s.LoadBalancerStatus = snap.ProvisioningStatus + "/" + snap.OperatingStatus
	}
	s.Machines = nil
	ready := 0
	for _, st := range d.Machines {
		row := v1alpha1.MachineMembers{Name: st.Name, MemberReady: st.MemberReady, Reason: st.Reason, Held: st.Held, Alerted: st.Alerted}
		for _, gm := range in.Machines {
			if gm.Name == st.Name {
				row.Deleting = gm.Deleting
			}
		}
		if st.Held {
			t := metav1.NewTime(st.HeldSince)
			row.HeldSince = &t
		}
		if st.MemberReady {
			ready++
		}
		for _, pool := range in.PoolIDs {
			row.Members = append(row.Members, memberRow(pool, verdicts[st.Name][pool]))
		}
		s.Machines = append(s.Machines, row)
	}
	s.Orphans = nil
	for _, o := range in.Orphans {
		s.Orphans = append(s.Orphans, v1alpha1.Member{ID: o.ID, Name: o.Name, Address: o.Address, ProtocolPort: int32(o.ProtocolPort),
			ProvisioningStatus: o.ProvisioningStatus, OperatingStatus: o.OperatingStatus})
	}
	s.Ready = fmt.Sprintf("%d/%d", ready, len(d.Machines))
	s.Blocking = d.Blocking
	switch {
	case in.Policy.Mode == gate.Disabled:
		s.Reason = "gating disabled"
	case in.Deleting:
		s.Reason = "cluster deleting: hooks released"
	case d.Blocking:
		s.Reason = blockingReason(d)
	case in.LoadBalancer.Err != nil:
		s.Reason = in.LoadBalancer.Err.Error()
	default:
		s.Reason = fmt.Sprintf("%s: %s member-ready", in.Policy.Mode, s.Ready)
	}
	setCondition(mg, v1alpha1.ReadyCondition, in.LoadBalancer.Err == nil, readyReason(in), readyMessage(in))
	blockReason := "NotBlocking"
	if d.Blocking {
		blockReason = "RolloutHeld"
	}
	setCondition(mg, v1alpha1.BlockingCondition, d.Blocking, blockReason, s.Reason)
	return r.Client.Status().Patch(ctx, mg, client.MergeFrom(orig))
}

func memberRow(pool string, v memberwait.Verdict) v1alpha1.Member {
	row := v1alpha1.Member{PoolID: pool, Serving: v.Outcome == memberwait.Done || (v.Outcome == memberwait.Pending && v.MemberReached),
		Message: v.Reason}
	if v.Member == nil {
		row.Message = "no member for this Machine"
		return row
	}
	m := v.Member
	row.ID, row.Name, row.Address, row.ProtocolPort = m.ID, m.Name, m.Address, int32(m.ProtocolPort)
	p := gate.Persisted(pool, v)
	row.ProvisioningStatus, row.OperatingStatus = p.ProvisioningStatus, p.OperatingStatus
	row.Since, row.LastSeen, row.MissingSince = timeOrNil(p.Since), timeOrNil(p.LastSeen), timeOrNil(p.MissingSince)
	row.LoadBalancerPending = p.LoadBalancerPending
	return row
}

func timeOrNil(t time.Time) *metav1.Time {
	if t.IsZero() {
		return nil
	}
	mt := metav1.NewTime(t)
	return &mt
}

func blockingReason(d gate.Decision) string {
	for _, st := range d.Machines {
		if st.Held {
			for _, other := range d.Machines {
				if !other.MemberReady && !other.Held {
					return fmt.Sprintf("holding %s: %s is %s (%s)", st.Name, other.Name, other.Reason, other.Message)
				}
			}
			return fmt.Sprintf("holding %s", st.Name)
		}
	}
	return ""
}

func readyReason(in gate.Input) string {
	if in.LoadBalancer.Err != nil {
		return gate.ReasonOctaviaUnavailable
	}
	return "Observed"
}

func readyMessage(in gate.Input) string {
	if in.LoadBalancer.Err != nil {
		return in.LoadBalancer.Err.Error()
	}
	return fmt.Sprintf("load balancer %s observed", in.LoadBalancer.ID)
}
