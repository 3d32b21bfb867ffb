package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/conditions"
	"sigs.k8s.io/cluster-api/util/patch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/gate/cycle"
	"github.com/membergate/membergate/pkg/memberwait"
)

// apply carries a decision out: hooks and conditions on Machines (through
// CAPI's patch helper, owning only our condition), events, the MemberGate
// status and metrics.
func (r *GateReconciler) apply(ctx context.Context, cluster *clusterv1.Cluster, mg *v1alpha1.MemberGate, machines []clusterv1.Machine,
	out cycle.Outcome, mem cycle.Memory, sg *sgOutcome, notes statusNotes) error {
	in, d := out.Input, out.Decision
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
	if err := r.patchStatus(ctx, mg, out, mem, sg, notes); err != nil {
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
	err = helper.Patch(ctx, m, patch.WithOwnedConditions{Conditions: []string{v1alpha1.MemberReadyCondition}})
	if err != nil && apierrors.IsNotFound(r.reader().Get(ctx, client.ObjectKeyFromObject(m), &clusterv1.Machine{})) {
		// Gone since it was listed (its finalizers ran): nothing to patch.
		// The patch helper aggregates its errors, so ask the API server.
		return nil
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
		missing := p.Monitor == memberwait.Absent
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

// statusNotes are what the MemberGate status says beyond the decision.
type statusNotes struct {
	// noLoadBalancer says why the cluster is not gated at all.
	noLoadBalancer string
	// controlPlane is why the control plane object could not be read.
	controlPlane error
	// observedAt is when Octavia answered, zero if it did not.
	observedAt time.Time
}

// patchStatus writes the MemberGate status; mem is the memory the decision
// was made from, read from this same MemberGate.
func (r *GateReconciler) patchStatus(ctx context.Context, mg *v1alpha1.MemberGate, out cycle.Outcome, mem cycle.Memory, sg *sgOutcome, notes statusNotes) error {
	in, d, snap := out.Input, out.Decision, out.Snapshot
	orig := mg.DeepCopy()
	sg.writeStatus(mg)
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
		summary = blockingReason(d) + ": Octavia could not be read: " + in.LoadBalancer.Err.Error()
	case d.Blocking:
		summary = blockingReason(d)
	case in.LoadBalancer.NotCreated:
		summary = "waiting for CAPO to create the API server load balancer"
	case in.LoadBalancer.Err != nil:
		summary = in.LoadBalancer.Err.Error()
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
	return r.Client.Status().Patch(ctx, mg, client.MergeFrom(orig))
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
