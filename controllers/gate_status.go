package controllers

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/internal/statuspatch"
	"github.com/membergate/membergate/internal/statustext"
	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/gate/cycle"
	"github.com/membergate/membergate/pkg/memberwait"
)

// patchMemberGate writes the gate's part of the MemberGate status, as the
// phases left it (a paused cluster's is left as it was), and the metrics.
func (r *GateReconciler) patchMemberGate(ctx context.Context, s *gateScope) error {
	err := s.patchHelper.Patch(ctx, s.memberGate)
	if in := s.outcome.Input; !in.Paused {
		recordMetrics(s.cluster, in, s.outcome.Decision)
	}
	return err
}

// healthMonitors sets the MemberGate's HealthMonitors condition from an
// observation and warns, once when it turns False, that members of a pool
// without a monitor count as serving on their provisioning status alone
// (noMonitorPolicy Provisioned or Serving) or hold the rollout (Fail).
func (r *GateReconciler) healthMonitors(mg *v1alpha1.MemberGate, snap *memberwait.Snapshot) {
	if snap == nil || !snap.Found {
		return
	}
	var without []string
	for _, p := range snap.Pools {
		missing := p.Monitor == memberwait.MonitorAbsent
		for _, m := range p.Members {
			missing = missing || m.OperatingStatus == memberwait.StatusNoMonitor
		}
		if missing {
			without = append(without, p.ID)
		}
	}
	if len(without) == 0 {
		setCondition(mg, v1alpha1.HealthMonitorsCondition, true, "Present", "every pool of the load balancer has a health monitor")
		return
	}
	msg := fmt.Sprintf("pool(s) %s have no health monitor: Octavia cannot tell whether their members answer", strings.Join(without, ", "))
	switch mg.Spec.NoMonitorPolicy {
	case v1alpha1.NoMonitorFail:
		msg += "; noMonitorPolicy Fail holds every deletion until a monitor is added"
	case v1alpha1.NoMonitorWait:
		msg += "; noMonitorPolicy Wait holds every deletion until a monitor reports ONLINE"
	default:
		msg += "; their members count as serving once ACTIVE. Add a health monitor so that the gate waits for members that really answer"
	}
	if c := meta.FindStatusCondition(mg.Status.Conditions, v1alpha1.HealthMonitorsCondition); c == nil || c.Status != metav1.ConditionFalse {
		r.Recorder.Eventf(mg, nil, corev1.EventTypeWarning, "NoHealthMonitor", "Gate", "%s", msg)
	}
	setCondition(mg, v1alpha1.HealthMonitorsCondition, false, "NoHealthMonitor", msg)
}

// gateStatus is the part of the MemberGate status the gate writes: all but
// what the security-group reconciler writes.
var gateStatus = statuspatch.Owner{
	Fields: func(s v1alpha1.MemberGateStatus) v1alpha1.MemberGateStatus {
		s.SecurityGroups = nil
		return s
	},
	Conditions: []string{v1alpha1.ReadyCondition, v1alpha1.BlockingCondition, v1alpha1.HealthMonitorsCondition},
}

// diagnosisNotes are the security-group reconciler's diagnoses of failing
// members, as sentences by Machine, for their LoadBalancerMemberReady
// condition.
func diagnosisNotes(mg *v1alpha1.MemberGate) map[string][]string {
	out := map[string][]string{}
	if mg.Status.SecurityGroups == nil {
		return out
	}
	for _, d := range mg.Status.SecurityGroups.Diagnoses {
		out[d.Machine] = append(out[d.Machine], "security groups: "+d.Message)
	}
	return out
}

// statusNotes are what the MemberGate status says beyond the decision.
type statusNotes struct {
	// noLoadBalancer says why the cluster is not gated at all.
	noLoadBalancer string
	// controlPlane is why the control plane object could not be read.
	controlPlane error
	// observedAt is when Octavia answered, zero if it did not.
	observedAt time.Time
}

// updateStatus renders a decision into the MemberGate status; mem is the
// memory the decision was made from, read from this same MemberGate.
func (r *GateReconciler) updateStatus(mg *v1alpha1.MemberGate, out cycle.Outcome, mem cycle.Memory, notes statusNotes) {
	in, d, snap := out.Input, out.Decision, out.Snapshot
	if in.LoadBalancer.Err == nil {
		r.healthMonitors(mg, snap)
	}
	s := &mg.Status
	s.ObservedGeneration = mg.Generation
	observed := in.LoadBalancer.Err == nil && snap != nil && snap.Found
	if observed && !notes.observedAt.IsZero() {
		// When Octavia last answered: a failed read leaves it, so that the
		// lifecycle hooks see how old the last knowledge is.
		t := metav1.NewTime(notes.observedAt)
		s.LastChecked = &t
	}
	s.LoadBalancer.ID = in.LoadBalancer.ID
	if observed {
		s.LoadBalancer.ProvisioningStatus, s.LoadBalancer.OperatingStatus = snap.ProvisioningStatus, snap.OperatingStatus
	} else if in.LoadBalancer.Err == nil {
		s.LoadBalancer.ProvisioningStatus, s.LoadBalancer.OperatingStatus = "", ""
	}
	s.Machines = nil
	ready := 0
	for _, row := range out.Rows(mem.Rows) {
		if row.MemberReady {
			ready++
		}
		s.Machines = append(s.Machines, rowTo(row))
	}
	if in.LoadBalancer.Err == nil {
		s.Orphans = nil
		for _, o := range in.Orphans {
			s.Orphans = append(s.Orphans, v1alpha1.Member{ID: o.ID, Name: o.Name, Address: o.Address, ProtocolPort: int32(o.ProtocolPort),
				ProvisioningStatus: o.ProvisioningStatus, OperatingStatus: o.OperatingStatus})
		}
	}
	s.Replicas, s.MemberReadyReplicas = ptr.To(int32(len(d.Machines))), ptr.To(int32(ready))
	var summary string
	switch {
	case notes.noLoadBalancer != "":
		summary = "not gated: " + notes.noLoadBalancer
	case in.Policy.Mode == gate.Disabled:
		summary = "gating disabled"
	case in.Deleting:
		summary = "cluster deleting: hooks released"
	case d.Blocking && in.LoadBalancer.Err != nil:
		summary = blockingReason(d) + ": Octavia could not be read: " + statustext.Error(in.LoadBalancer.Err)
	case d.Blocking:
		summary = blockingReason(d)
	case in.LoadBalancer.NotCreated:
		summary = "waiting for CAPO to create the API server load balancer"
	case in.LoadBalancer.Err != nil:
		summary = statustext.Error(in.LoadBalancer.Err)
	default:
		summary = fmt.Sprintf("%s: %d/%d member-ready", in.Policy.Mode, ready, len(d.Machines))
	}
	readyOK, reason, msg := readyCondition(in, notes)
	setCondition(mg, v1alpha1.ReadyCondition, readyOK, reason, msg)
	blockReason := "NotBlocking"
	if d.Blocking {
		blockReason = "RolloutHeld"
	}
	setCondition(mg, v1alpha1.BlockingCondition, d.Blocking, blockReason, summary)
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

// readyCondition is the MemberGate's Ready condition: whether the gate
// could observe what it gates on.
func readyCondition(in gate.Input, notes statusNotes) (bool, string, string) {
	ok, reason, msg := true, "Observed", fmt.Sprintf("load balancer %s observed", in.LoadBalancer.ID)
	switch {
	case notes.noLoadBalancer != "":
		ok, reason, msg = true, "NoLoadBalancer", "not gated: "+notes.noLoadBalancer
	case in.LoadBalancer.NotCreated:
		ok, reason, msg = false, gate.ReasonLoadBalancerNotCreated, "waiting for CAPO to create the API server load balancer: every deletion of a control-plane Machine is held until its members serve"
	case in.LoadBalancer.Err != nil:
		since := in.LoadBalancer.UnavailableSince
		if since.IsZero() {
			since = in.Now
		}
		ok, reason = false, gate.ReasonOctaviaUnavailable
		msg = fmt.Sprintf("Octavia could not be read since %s: %s; the Machines keep their last known verdicts and nothing is released", since.UTC().Format(time.RFC3339), in.LoadBalancer.Err)
	}
	if notes.controlPlane != nil {
		msg += fmt.Sprintf("; %v (the gate sees the control plane's deletion only through the Cluster's)", notes.controlPlane)
	}
	return ok, reason, msg
}

// setCondition sets a condition on the MemberGate.
func setCondition(mg *v1alpha1.MemberGate, t string, ok bool, reason, msg string) {
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	meta.SetStatusCondition(&mg.Status.Conditions, metav1.Condition{Type: t, Status: status, Reason: reason, Message: msg, ObservedGeneration: mg.Generation})
}
