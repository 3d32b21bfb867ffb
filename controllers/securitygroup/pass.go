package securitygroup

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/internal/cloud/scope"
	"github.com/membergate/membergate/internal/cloud/services/loadbalancer"
	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/secgroup"
)

// input is what a pass works from.
type input struct {
	cluster  *clusterv1.Cluster
	mg       *v1alpha1.MemberGate
	target   scope.APIServerLoadBalancer
	machines []clusterv1.Machine // control plane
	// members are the gate's, by Machine; membersKey names them all.
	members    map[string][]member
	membersKey string
	now        time.Time
}

// key is the Cluster's namespace and name: the rules' owner and the key of
// the cluster's Neutron caches.
func (in input) key() types.NamespacedName {
	return types.NamespacedName{Namespace: in.cluster.Namespace, Name: in.cluster.Name}
}

// reconcileGroups runs the security-group pass of one reconcile: cleanup
// when the cluster, the MemberGate or the policy says so; else, when due,
// reading the groups and converging (Enforce) or reporting (Audit); and the
// diagnosis of failing members. It never blocks: every request is budgeted
// and a spent budget is reported and retried at the next reconcile.
func (r *Reconciler) reconcileGroups(ctx context.Context, in input) *outcome {
	st := &v1alpha1.SecurityGroupsStatus{}
	if prev := in.mg.Status.SecurityGroups; prev != nil {
		st = prev.DeepCopy()
	}
	if in.target.Identity.SecretName != "" {
		st.Identity = &v1alpha1.IdentityReference{SecretName: in.target.Identity.SecretName, CloudName: in.target.Identity.CloudName,
			Region: in.target.Identity.Region}
	}
	pol := policyOf(in.mg)
	pol.MinPrefixV4, pol.MinPrefixV6 = r.MinSourcePrefixV4, r.MinSourcePrefixV6
	out := &outcome{status: st, now: in.now}
	owner := ruleOwner(r.ManagementCluster, in.key())

	why := ""
	switch {
	case !in.cluster.DeletionTimestamp.IsZero():
		why = "the cluster is being deleted"
	case !in.mg.DeletionTimestamp.IsZero():
		why = "the MemberGate is being deleted"
	case in.cluster.Annotations[v1alpha1.SkipAnnotation] == "true":
		why = "the cluster opted out (" + v1alpha1.SkipAnnotation + ")"
	case pol.Mode == secgroup.Disabled:
		why = "spec.securityGroups.mode is Disabled"
	}
	if why != "" {
		out.cleanup = true
		r.cleanup(ctx, out, in.mg, in.key(), identityOf(in.mg.Namespace, st), why)
		recordDiagnosisMetric(in.cluster, st)
		return out
	}
	st.Mode = v1alpha1.SecurityGroupMode(pol.Mode)

	failing := failingMembers(in.mg, in.machines, in.members, in.now)
	st.Diagnoses = slices.DeleteFunc(st.Diagnoses, func(d v1alpha1.MemberDiagnosis) bool { return !failing.has(d.MemberID) })
	interval := r.passInterval(in.key(), st, len(failing) > 0)
	due := r.passDue(in, st, interval)
	diagnose := failing.due(st.Diagnoses, in.now)
	if (due || len(diagnose) > 0) && in.target.LoadBalancerID == "" {
		st.Problems = []string{problemOpenStack + "the cluster has no API server load balancer yet"}
		due, diagnose = false, nil
	}
	if due || len(diagnose) > 0 {
		// OpenStack asked to be left alone (Retry-After) and is, even when
		// a change brings the cluster back sooner: what the refused pass
		// found stands until then.
		if out.retryAfter = r.caches.held(in.key().String(), in.now); out.retryAfter > 0 {
			due, diagnose = false, nil
		}
	}
	if due || len(diagnose) > 0 {
		r.pass(ctx, out, in, pol, owner, due, failing, diagnose)
		r.holdAfter(in.key(), out)
	}
	out.cond = readyCondition(st)
	out.dropFinalizer = len(st.OwnedRules) == 0
	if st.LastSynced != nil && len(failing) == 0 && out.retryAfter == 0 {
		// Settled or not, nothing but a pass is due until the interval
		// the status now calls for is over: the cluster is looked at then.
		out.nextPass = max(st.LastSynced.Add(r.passInterval(in.key(), st, false)).Sub(in.now), 0)
	}
	recordDiagnosisMetric(in.cluster, st)
	return out
}

// topologyKey names what the load balancer's topology is read for: the
// members the gate saw and the allowed CIDRs CAPO applied to the
// listener. Either changing reads it again.
func (in input) topologyKey() string {
	return in.membersKey + " allowed=" + in.target.AllowedCIDRs
}

// SettledTopologyAge is how long a settled cluster's load-balancer
// topology is trusted: what could change it unseen is a monitor_port
// changed by hand, and that fails the members' health checks, which
// unsettles the cluster and brings back loadbalancer.TopologyTTL.
// Everything else that changes it changes the topology key at once.
const SettledTopologyAge = loadbalancer.MaxTopologyAge

// topologyAge is how old a topology this pass may use: SettledTopologyAge
// on a settled cluster (see passInterval), loadbalancer.TopologyTTL on any
// other.
func (r *Reconciler) topologyAge(st *v1alpha1.SecurityGroupsStatus, failing bool) time.Duration {
	if !r.settled(st, failing) {
		return loadbalancer.TopologyTTL
	}
	return SettledTopologyAge
}

// settled reports whether the cluster keeps the idle pace: an idle resync
// is configured, the last pass found no problem and no member fails.
func (r *Reconciler) settled(st *v1alpha1.SecurityGroupsStatus, failing bool) bool {
	return r.IdleResync > 0 && !failing && len(st.Problems) == 0
}

// passInterval is how long a pass stands when nothing it depends on
// changes: IdleResync (jittered per cluster, as the gate's idle looks) when
// the cluster is settled — the last pass found no problem and no member
// fails —, SecurityGroupInterval otherwise, so that a problem is retried
// and a failing member's rules re-read at the faster pace.
func (r *Reconciler) passInterval(cluster types.NamespacedName, st *v1alpha1.SecurityGroupsStatus, failing bool) time.Duration {
	if !r.settled(st, failing) {
		return SecurityGroupInterval
	}
	return gate.IdleAfter(cluster.String(), r.IdleResync)
}

// holdAfter keeps the cluster's passes off OpenStack for as long as its
// answers asked (see outcome.problem).
func (r *Reconciler) holdAfter(cluster types.NamespacedName, out *outcome) {
	if out.retryAfter > 0 {
		r.caches.hold(cluster.String(), out.now.Add(out.retryAfter))
	}
}

// passDue reports whether the groups must be read in this reconcile: the
// inputs changed since the last pass, or it is older than interval.
func (r *Reconciler) passDue(in input, st *v1alpha1.SecurityGroupsStatus, interval time.Duration) bool {
	c := &r.caches
	c.mu.Lock()
	changed := c.inputs[in.key().String()] != inputsOf(in)
	c.mu.Unlock()
	return changed || st.LastSynced == nil || in.now.Sub(st.LastSynced.Time) >= interval
}

// remember records the inputs of a pass that read the groups.
func (r *Reconciler) remember(in input) {
	c := &r.caches
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inputs == nil {
		c.inputs = map[string]string{}
	}
	c.inputs[in.key().String()] = inputsOf(in)
}

// inputsOf sums up what a pass depends on: the policy's generation, the
// members the gate saw, the control-plane Machines' addresses.
// Kept in memory only: after a restart the first reconcile reads anyway.
func inputsOf(in input) string {
	var b strings.Builder
	fmt.Fprint(&b, in.mg.Generation, " ", in.target.LoadBalancerID, " ", in.topologyKey())
	for _, m := range in.machines {
		b.WriteString(" " + m.Name)
		for _, a := range m.Status.Addresses {
			b.WriteString("," + a.Address)
		}
	}
	return b.String()
}

// identityOf is the identity recorded in the status, for a cleanup after
// the OpenStackCluster is gone.
func identityOf(namespace string, st *v1alpha1.SecurityGroupsStatus) scope.Identity {
	if st == nil || st.Identity == nil {
		return scope.Identity{}
	}
	return scope.Identity{Namespace: namespace, SecretName: st.Identity.SecretName, CloudName: st.Identity.CloudName, Region: st.Identity.Region}
}
