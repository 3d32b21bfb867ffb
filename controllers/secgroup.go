package controllers

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/internal/cloud/scope"
	"github.com/membergate/membergate/internal/cloud/services/loadbalancer"
	"github.com/membergate/membergate/internal/cloud/services/networking"
	"github.com/membergate/membergate/pkg/memberwait"
	"github.com/membergate/membergate/pkg/secgroup"
)

// SecurityGroupInterval is how often a cluster's groups are read when
// nothing it depends on changed: a rule of ours deleted by hand is repaired
// (or, in Audit, reported) within it. A change of the MemberGate's spec, of
// the members or of the Machines' addresses triggers a pass at once.
const SecurityGroupInterval = time.Minute

// DiagnosisInterval is how often a member that keeps failing is diagnosed
// again: its groups rarely change faster, and every diagnosis is an event.
const DiagnosisInterval = 5 * time.Minute

// sgOutcome is what one security-group pass decided, applied together with
// the gate's decision: the MemberGate's status and condition, and a
// sentence per Machine for its LoadBalancerMemberReady condition.
type sgOutcome struct {
	status *v1alpha1.SecurityGroupsStatus
	cond   metav1.Condition
	notes  map[string][]string
	// dropFinalizer is set when no rule of ours remains (or none can be
	// removed any more): the MemberGate need not wait for a cleanup.
	dropFinalizer bool
}

// note is the diagnosis sentence for a Machine, if any.
func (o *sgOutcome) note(machine string) string {
	if o == nil {
		return ""
	}
	return strings.Join(o.notes[machine], "; ")
}

// writeStatus puts the pass's results into the MemberGate's status.
func (o *sgOutcome) writeStatus(mg *v1alpha1.MemberGate) {
	if o == nil || o.status == nil {
		return
	}
	mg.Status.SecurityGroups = o.status
	o.cond.ObservedGeneration = mg.Generation
	meta.SetStatusCondition(&mg.Status.Conditions, o.cond)
}

// sgPolicy is the MemberGate's security-group policy in force.
type sgPolicy struct {
	secgroup.Policy
	workers bool
	sources []netip.Prefix
}

// sgPolicyOf reads the spec; unset means Audit with the defaults.
func sgPolicyOf(mg *v1alpha1.MemberGate) sgPolicy {
	p := sgPolicy{Policy: secgroup.Policy{Mode: secgroup.Audit, NodePorts: secgroup.DefaultNodePorts}}
	s := mg.Spec.SecurityGroups
	if s == nil {
		return p
	}
	if s.Mode != "" {
		p.Mode = secgroup.Mode(s.Mode)
	}
	if r := s.NodePortRange; r != nil {
		p.NodePorts = secgroup.PortRange{Min: int(r.Min), Max: int(r.Max)}
	}
	p.AllTCP, p.AllowAnywhere, p.workers = s.AllTCP, s.AllowAnywhere, s.Workers
	for _, c := range s.Sources {
		// The webhook refuses what does not parse; a source that slipped
		// past it (webhooks off) is left out rather than guessed at.
		if prefix, err := netip.ParsePrefix(c); err == nil {
			p.sources = append(p.sources, prefix.Masked())
		}
	}
	return p
}

// ruleOwner marks the rules of one cluster's enforcement, in their
// description. Creation and every cleanup take it from here, from the
// Cluster's namespace and name — the key the controller reads the cluster's
// MemberGate by — and never from spec.clusterName: a MemberGate made before
// the API required the two to agree may name another cluster there, and a
// cleanup looking for that cluster's rules would leave ours behind.
func ruleOwner(cluster types.NamespacedName) secgroup.Owner {
	return secgroup.Owner("membergate " + cluster.String())
}

// sgInput is what a pass works from.
type sgInput struct {
	cluster  *clusterv1.Cluster
	mg       *v1alpha1.MemberGate
	target   scope.Target
	machines []clusterv1.Machine // control plane
	snap     *memberwait.Snapshot
	verdicts map[string]map[string]memberwait.Verdict
	now      time.Time
}

// key is the Cluster's namespace and name: the rules' owner and the key of
// the cluster's Neutron caches.
func (in sgInput) key() types.NamespacedName {
	return types.NamespacedName{Namespace: in.cluster.Namespace, Name: in.cluster.Name}
}

// securityGroups runs the security-group pass of one reconcile: cleanup
// when the cluster, the MemberGate or the policy says so; else, when due,
// reading the groups and converging (Enforce) or reporting (Audit); and the
// diagnosis of failing members. It never blocks: every request is budgeted
// and a spent budget is reported and retried at the next reconcile. nil
// means nothing to apply (no Neutron clients configured, or paused).
func (r *GateReconciler) securityGroups(ctx context.Context, in sgInput, paused bool) *sgOutcome {
	if r.Networks == nil || paused {
		return nil
	}
	st := &v1alpha1.SecurityGroupsStatus{}
	if prev := in.mg.Status.SecurityGroups; prev != nil {
		st = prev.DeepCopy()
	}
	if in.target.Identity.SecretName != "" {
		st.Identity = &v1alpha1.IdentityReference{SecretName: in.target.Identity.SecretName, CloudName: in.target.Identity.CloudName,
			Region: in.target.Identity.Region}
	}
	pol := sgPolicyOf(in.mg)
	out := &sgOutcome{status: st}
	owner := ruleOwner(in.key())

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
		r.sgCleanup(ctx, out, in.mg, in.key(), identityOf(in.mg.Namespace, st), why)
		recordDiagnosisMetric(in.cluster, st)
		return out
	}
	st.Mode = v1alpha1.SecurityGroupMode(pol.Mode)

	failing := failingMembers(in.mg, in.machines, in.verdicts, in.now)
	st.Diagnoses = slices.DeleteFunc(st.Diagnoses, func(d v1alpha1.MemberDiagnosis) bool { return !failing.has(d.MemberID) })
	due := r.sgDue(in, st)
	diagnose := failing.due(st.Diagnoses, in.now)
	if (due || len(diagnose) > 0) && in.target.LoadBalancerID == "" {
		st.Problems = []string{problemOpenStack + "the cluster has no API server load balancer yet"}
		due, diagnose = false, nil
	}
	if due || len(diagnose) > 0 {
		r.sgPass(ctx, out, in, pol, owner, due, failing, diagnose)
	}
	out.notes = notesOf(st.Diagnoses)
	out.cond = sgCondition(st)
	out.dropFinalizer = len(st.OwnedRules) == 0
	recordDiagnosisMetric(in.cluster, st)
	return out
}

// sgDue reports whether the groups must be read in this reconcile: the
// inputs changed since the last pass, or it is older than the interval.
func (r *GateReconciler) sgDue(in sgInput, st *v1alpha1.SecurityGroupsStatus) bool {
	c := &r.secgroups
	c.mu.Lock()
	changed := c.inputs[in.key().String()] != inputsOf(in)
	c.mu.Unlock()
	return changed || st.LastSynced == nil || in.now.Sub(st.LastSynced.Time) >= SecurityGroupInterval
}

// remember records the inputs of a pass that read the groups.
func (r *GateReconciler) remember(in sgInput) {
	c := &r.secgroups
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inputs == nil {
		c.inputs = map[string]string{}
	}
	c.inputs[in.key().String()] = inputsOf(in)
}

// inputsOf sums up what a pass depends on and the gate already read: the
// policy's generation, the members, the control-plane Machines' addresses.
// Kept in memory only: after a restart the first reconcile reads anyway.
func inputsOf(in sgInput) string {
	var b strings.Builder
	fmt.Fprint(&b, in.mg.Generation, " ", in.target.LoadBalancerID, " ", membersKey(in.snap))
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

// sgCaches keep what Octavia and Neutron say across reconciles (see the
// services' caches) and what the last pass of each cluster saw.
type sgCaches struct {
	topologies loadbalancer.Cache
	neutron    networking.Cache
	mu         sync.Mutex
	inputs     map[string]string // cluster → what the last pass saw
}

// forget drops what is kept for a cluster whose rules are gone.
func (c *sgCaches) forget(cluster, lbID string) {
	c.neutron.Forget(cluster)
	c.mu.Lock()
	delete(c.inputs, cluster)
	c.mu.Unlock()
	c.topologies.Forget(lbID)
}

// topology is the load balancer's topology, through the cache.
func (c *sgCaches) topology(ctx context.Context, nc *scope.NetworkClients, lbID, key string, now time.Time) (*loadbalancer.Topology, error) {
	return loadbalancer.NewService(loadbalancer.Clients{Octavia: nc.LoadBalancer}, &c.topologies).GetTopology(ctx, lbID, key, now)
}

// view is Neutron as one reconcile of cluster reads it, through the cache.
func (c *sgCaches) view(nc *scope.NetworkClients, cluster string, now time.Time) *networking.Service {
	return networking.NewService(nc.Network, nc.Cloud, &c.neutron, cluster, now)
}

// membersKey names the set of members the status tree shows.
func membersKey(snap *memberwait.Snapshot) string {
	if snap == nil || !snap.Found {
		return ""
	}
	var ids []string
	for _, p := range snap.Pools {
		for _, m := range p.Members {
			ids = append(ids, p.ID+"/"+m.ID)
		}
	}
	slices.Sort(ids)
	return strings.Join(ids, ",")
}
