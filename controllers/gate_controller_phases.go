package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/conditions"
	"sigs.k8s.io/cluster-api/util/patch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/internal/cloud/scope"
	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/gate/cycle"
	"github.com/membergate/membergate/pkg/memberwait"
)

// reconcileDecision makes the gate's decision for the cluster with
// cycle.Run: observe Octavia or reuse the remembered observation, judge
// every member, decide, and look again before letting any hook go.
func (r *GateReconciler) reconcileDecision(ctx context.Context, s *gateScope) error {
	mg, cluster, target := s.memberGate, s.cluster, s.target
	in := gate.Input{Now: s.now, Policy: policyOf(mg), Paused: s.paused}
	if cluster.Annotations[v1alpha1.SkipAnnotation] == "true" || target.NoLoadBalancer != "" {
		in.Policy.Mode = gate.Disabled
	}
	in.Deleting = !cluster.DeletionTimestamp.IsZero() || s.controlPlaneDeleting
	opts := waitOptions(mg)
	opts.Rand = r.Rand
	in.LoadBalancer.ID = target.LoadBalancerID
	in.LoadBalancer.NotCreated = target.LoadBalancerID == "" && target.NoLoadBalancer == ""
	s.memory = memoryOf(mg)
	idle := gate.IdleAfter(client.ObjectKeyFromObject(s.cluster).String(), r.idleResync())
	s.outcome = cycle.Run(ctx, cycle.Cycle{Input: in, Machines: candidates(s.machines, target.LoadBalancerName), Options: opts, Memory: s.memory,
		Observer: &octaviaObserver{r: r, cluster: client.ObjectKeyFromObject(s.cluster), target: target, machines: s.machines,
			monitors: opts.WantsHealthMonitors(), idleAfter: idle}, Clock: r.Clock.Now,
		IdleResync: idle})
	r.warnInsecure(s)
	return nil
}

// warnInsecure says, once per cluster and identity while the manager runs,
// that the cluster's Octavia is read without checking its certificate.
func (r *GateReconciler) warnInsecure(s *gateScope) {
	ins, ok := r.Sources.(interface{ InsecureTLS(scope.Identity) bool })
	if !ok || !ins.InsecureTLS(s.target.Identity) {
		return
	}
	key := client.ObjectKeyFromObject(s.cluster).String() + " " + s.target.Identity.String()
	if _, warned := r.insecureWarned.LoadOrStore(key, true); warned {
		return
	}
	r.Recorder.Eventf(s.memberGate, s.cluster, corev1.EventTypeWarning, "InsecureOpenStackTLS", "Gate",
		"identity %s turns certificate checks off (verify: false), which the manager allows (--allow-insecure-openstack-tls): Octavia's answers, on which hooks are released, could come from anyone on the path", s.target.Identity)
}

// candidates are the Machines as the cycle judges them, each member found
// by memberOf.
func candidates(machines []clusterv1.Machine, lbName string) []cycle.Machine {
	out := make([]cycle.Machine, 0, len(machines))
	for i := range machines {
		m := &machines[i]
		gm := gate.Machine{Name: m.Name, Deleting: !m.DeletionTimestamp.IsZero(), HasNode: m.Status.NodeRef.IsDefined(),
			HasHook: m.Annotations[v1alpha1.PreDrainHookAnnotation] != "", ManualRelease: m.Annotations[v1alpha1.ReleaseAnnotation]}
		out = append(out, cycle.Machine{Machine: gm,
			Find: func(p memberwait.PoolStatus) (memberwait.MemberStatus, bool) { return memberOf(m, lbName, p) }})
	}
	return out
}

// memberOf finds a Machine's member in a pool: by any of its addresses, or
// by the name CAPO gives members, "<lbName>-<port>-<openStackMachineName>".
func memberOf(m *clusterv1.Machine, lbName string, pool memberwait.PoolStatus) (memberwait.MemberStatus, bool) {
	for _, ms := range pool.Members {
		for _, a := range m.Status.Addresses {
			// Octavia keeps an address as it was submitted: fd00::0a and
			// fd00::a are one member.
			if a.Address != "" && memberwait.SameAddress(a.Address, ms.Address) {
				return ms, true
			}
		}
	}
	if infra := m.Spec.InfrastructureRef.Name; infra != "" && lbName != "" {
		for _, ms := range pool.Members {
			if strings.HasPrefix(ms.Name, lbName+"-") && strings.HasSuffix(ms.Name, "-"+infra) {
				return ms, true
			}
		}
	}
	return memberwait.MemberStatus{}, false
}

// reconcileMachines carries the decision out on the Machines: hooks added
// and released, and each one's LoadBalancerMemberReady condition (through
// CAPI's patch helper, owning only that condition), with the
// security-group reconciler's diagnosis of a failing member. Every Machine
// is patched whatever happens to the others.
func (r *GateReconciler) reconcileMachines(ctx context.Context, s *gateScope) error {
	in, d := s.outcome.Input, s.outcome.Decision
	statusOf := map[string]gate.MachineStatus{}
	for _, st := range d.Machines {
		statusOf[st.Name] = st
	}
	release := map[string]gate.Release{}
	for _, rel := range d.Release {
		release[rel.Machine] = rel
	}
	var diagnoses map[string][]string
	if !in.Paused {
		diagnoses = diagnosisNotes(s.memberGate)
	}
	machines := s.machines
	var errs []error
	for i := range machines {
		note := strings.Join(diagnoses[machines[i].Name], "; ")
		if err := r.patchMachine(ctx, &machines[i], in, statusOf, release, slices.Contains(d.AddHook, machines[i].Name), note); err != nil {
			errs = append(errs, err)
		}
	}
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

// reconcileEvents records the decision's events, each on its Machine (or
// the MemberGate).
func (r *GateReconciler) reconcileEvents(_ context.Context, s *gateScope) error {
	mg, machines := s.memberGate, s.machines
	byName := map[string]*clusterv1.Machine{}
	for i := range machines {
		byName[machines[i].Name] = &machines[i]
	}
	for _, e := range s.outcome.Decision.Events {
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
	return nil
}

// reconcileStatus renders the decision into the MemberGate status, which
// the deferred patch writes. A paused cluster's status stays as it was.
func (r *GateReconciler) reconcileStatus(_ context.Context, s *gateScope) error {
	if s.outcome.Input.Paused {
		return nil
	}
	r.updateStatus(s.memberGate, s.outcome, s.memory, s.statusNotes())
	return nil
}
