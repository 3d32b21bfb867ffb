package controllers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/internal/cloud/scope"
	"github.com/membergate/membergate/internal/metrics"
	"github.com/membergate/membergate/internal/statustext"
	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/gate/remediate"
	"github.com/membergate/membergate/pkg/memberwait"
)

// +kubebuilder:rbac:groups=infrastructure.cluster.x-k8s.io,resources=openstackmachines,verbs=get;patch

// reconcileRemediation recreates control-plane members in provisioning
// ERROR when the MemberGate asks for it (spec.remediation: Recreate), as
// remediate.Decide plans: the member deleted through Octavia, the
// Machine's infrastructure Machine poked so that CAPO creates the member
// again at once. The record goes into the MemberGate status.
func (r *GateReconciler) reconcileRemediation(ctx context.Context, s *gateScope) error {
	mg, out := s.memberGate, s.outcome
	in := remediate.Input{Now: s.now}
	if st := mg.Status.Remediation; st != nil {
		in.Attempts, in.Suspended = attemptsFromStatus(st.Attempts), st.Suspended
	}
	snap := out.Snapshot
	in.Enabled = mg.Spec.Remediation == v1alpha1.RemediationRecreate && out.Input.Policy.Mode == gate.Enforce &&
		!out.Input.Paused && !out.Input.Deleting && out.Input.LoadBalancer.Err == nil && snap != nil && snap.Found
	if in.Enabled {
		in.Members, in.ErrorMembers = remediationMembers(s.machines, s.target.LoadBalancerName, snap)
	}
	plan := remediate.Decide(in)
	s.remediationRequeue = plan.RequeueAfter

	var errs []error
	if len(plan.Delete) > 0 {
		lb, err := r.octavia(ctx, s.target.Identity)
		for _, a := range plan.Delete {
			if err == nil {
				err = deleteMember(ctx, lb, a)
			}
			if err != nil {
				// The attempt stays Deleting; the delete is sent again
				// after PokeInterval.
				errs = append(errs, fmt.Errorf("deleting member %s of Machine %s: %w", a.MemberID, a.Machine, err))
				metrics.MemberRemediations.WithLabelValues(s.cluster.Namespace, s.cluster.Name, "delete_failed").Inc()
				continue
			}
			metrics.MemberRemediations.WithLabelValues(s.cluster.Namespace, s.cluster.Name, "deleted").Inc()
		}
	}
	byName := map[string]*clusterv1.Machine{}
	for i := range s.machines {
		byName[s.machines[i].Name] = &s.machines[i]
	}
	for _, name := range plan.Poke {
		if m := byName[name]; m != nil {
			if err := r.pokeInfrastructure(ctx, m, s.now); err != nil {
				errs = append(errs, err)
				continue
			}
			metrics.MemberRemediations.WithLabelValues(s.cluster.Namespace, s.cluster.Name, "capo_asked").Inc()
		}
	}
	for _, e := range plan.Events {
		typ := corev1.EventTypeNormal
		if e.Warning {
			typ = corev1.EventTypeWarning
		}
		var regarding client.Object = mg
		if m := byName[e.Machine]; m != nil {
			regarding = m
		}
		r.Recorder.Eventf(regarding, mg, typ, e.Reason, "Remediate", "%s", e.Message)
		switch e.Reason {
		case remediate.EventRecreated:
			metrics.MemberRemediations.WithLabelValues(s.cluster.Namespace, s.cluster.Name, "recreated").Inc()
		case remediate.EventExhausted:
			metrics.MemberRemediations.WithLabelValues(s.cluster.Namespace, s.cluster.Name, "exhausted").Inc()
		case remediate.EventSuspended:
			metrics.MemberRemediations.WithLabelValues(s.cluster.Namespace, s.cluster.Name, "suspended").Inc()
		}
	}
	mg.Status.Remediation = remediationStatus(plan)
	return errors.Join(errs...)
}

// remediationMembers is each control-plane Machine's place in each pool of
// the snapshot, and how many of the load balancer's members are in
// provisioning ERROR.
func remediationMembers(machines []clusterv1.Machine, lbName string, snap *memberwait.Snapshot) ([]remediate.Member, int) {
	cands := make([]remediate.Candidate, 0, len(machines))
	for i := range machines {
		m := &machines[i]
		cands = append(cands, remediate.Candidate{Name: m.Name, Deleting: !m.DeletionTimestamp.IsZero(),
			Find: func(p memberwait.PoolStatus) (memberwait.MemberStatus, bool) { return memberOf(m, lbName, p) }})
	}
	return remediate.Members(snap, cands)
}

// octavia is an Octavia client of the cluster's identity, spending the same
// request budget as the gate's observations.
func (r *GateReconciler) octavia(ctx context.Context, id scope.Identity) (*gophercloud.ServiceClient, error) {
	f, ok := r.Sources.(scope.LoadBalancerFactory)
	if !ok {
		return nil, errors.New("this gate has no Octavia client to change members with")
	}
	return f.LoadBalancer(ctx, id)
}

// deleteMember deletes a member; one already gone counts as deleted, and
// a 409 (the load balancer is busy) leaves it for the next attempt.
func deleteMember(ctx context.Context, lb *gophercloud.ServiceClient, a remediate.Action) error {
	err := pools.DeleteMember(ctx, lb, a.PoolID, a.MemberID).ExtractErr()
	switch {
	case err == nil, gophercloud.ResponseCodeIs(err, http.StatusNotFound), gophercloud.ResponseCodeIs(err, http.StatusConflict):
		return nil
	}
	return statustext.Wrap(err)
}

// pokeInfrastructure sets RecreateMemberAnnotation on the Machine's
// infrastructure Machine: CAPO's OpenStackMachine controller reconciles on
// any change of the object and creates the member a control-plane Machine
// lacks, instead of at its next resync (minutes away).
func (r *GateReconciler) pokeInfrastructure(ctx context.Context, m *clusterv1.Machine, now time.Time) error {
	ref := m.Spec.InfrastructureRef
	mapping, err := r.Client.RESTMapper().RESTMapping(schema.GroupKind{Group: ref.APIGroup, Kind: ref.Kind})
	if err != nil {
		return fmt.Errorf("resolving infrastructure kind %s of Machine %s: %w", ref.Kind, m.Name, err)
	}
	obj := &metav1.PartialObjectMetadata{}
	obj.SetGroupVersionKind(mapping.GroupVersionKind)
	obj.SetNamespace(m.Namespace)
	obj.SetName(ref.Name)
	patch := client.RawPatch("application/merge-patch+json",
		fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, v1alpha1.RecreateMemberAnnotation, now.UTC().Format(time.RFC3339)))
	if err := r.Client.Patch(ctx, obj, patch); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("asking CAPO to recreate the member of Machine %s (annotating %s %s): %w", m.Name, ref.Kind, ref.Name, err)
	}
	return nil
}

func attemptsFromStatus(in []v1alpha1.RemediationAttempt) []remediate.Attempt {
	out := make([]remediate.Attempt, 0, len(in))
	for _, a := range in {
		ra := remediate.Attempt{Machine: a.Machine, PoolID: a.PoolID, MemberID: a.MemberID, Address: a.Address,
			Started: a.StartedAt.Time, Phase: remediate.Phase(a.Phase), NewMemberID: a.NewMemberID}
		if a.LastActionAt != nil {
			ra.LastAction = a.LastActionAt.Time
		}
		out = append(out, ra)
	}
	return out
}

func remediationStatus(p remediate.Plan) *v1alpha1.RemediationStatus {
	if len(p.Attempts) == 0 && p.Suspended == "" {
		return nil
	}
	st := &v1alpha1.RemediationStatus{Suspended: p.Suspended}
	for _, a := range p.Attempts {
		sa := v1alpha1.RemediationAttempt{Machine: a.Machine, PoolID: a.PoolID, MemberID: a.MemberID, Address: a.Address,
			Phase: string(a.Phase), StartedAt: metav1.NewTime(a.Started), NewMemberID: a.NewMemberID}
		if !a.LastAction.IsZero() {
			t := metav1.NewTime(a.LastAction)
			sa.LastActionAt = &t
		}
		st.Attempts = append(st.Attempts, sa)
	}
	return st
}
