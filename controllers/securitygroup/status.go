package securitygroup

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/internal/cloud/scope"
	"github.com/membergate/membergate/internal/cloud/services/networking"
	"github.com/membergate/membergate/internal/diagnose"
	"github.com/membergate/membergate/internal/metrics"
	"github.com/membergate/membergate/internal/statustext"
	"github.com/membergate/membergate/pkg/memberwait"
	"github.com/membergate/membergate/pkg/secgroup"
)

// outcome is what one security-group pass decided: the MemberGate's
// status.securityGroups and SecurityGroupsReady condition, and whether its
// finalizer may go.
type outcome struct {
	status *v1alpha1.SecurityGroupsStatus
	cond   metav1.Condition
	// dropFinalizer is set when no rule of ours remains (or none can be
	// removed any more): the MemberGate need not wait for a cleanup.
	dropFinalizer bool
	// cleanup is set when the pass removed rules instead of planning them.
	cleanup bool
	// now is when the pass runs.
	now time.Time
	// retryAfter is the longest Retry-After OpenStack answered the pass
	// with (429, 503), at most memberwait.MaxRetryAfter; or, while an
	// earlier one holds, what is left of it.
	retryAfter time.Duration
	// nextPass, when set, is how long until the next pass is due, with no
	// failing member to diagnose meanwhile: the cluster is looked at then,
	// not every Resync.
	nextPass time.Duration
}

// problem is an OpenStack error as a status problem. An error that asks
// to be retried later (Retry-After) holds the cluster's next pass until
// then, and says so first, where no trimming reaches.
func (o *outcome) problem(err error) string {
	after := memberwait.ServerRetryAfter(err)
	if after <= 0 {
		return problemOpenStack + statustext.Error(err)
	}
	o.retryAfter = max(o.retryAfter, after)
	return fmt.Sprintf("%sasked to be left alone for %s (Retry-After), next pass at %s: %s", problemOpenStack, after,
		o.now.Add(after).UTC().Format(time.RFC3339), statustext.Error(err))
}

// requeueAfter is when to look at the cluster again if nothing it watches
// changes first: a cleanup that left rules is retried, one that is done
// waits for a change; a cluster with a failing member is looked at every
// Resync (a diagnosis may fall due), any other when its next pass is due.
// An OpenStack that asked to be left alone for longer is: sooner would
// only be refused again, and spend the budget of every cluster on the
// cloud.
func (o *outcome) requeueAfter() time.Duration {
	var after time.Duration
	switch {
	case !o.cleanup && o.nextPass > 0:
		after = o.nextPass
	case !o.cleanup:
		after = Resync
	case !o.dropFinalizer:
		after = cleanupRetry
	}
	return max(after, o.retryAfter)
}

// writeStatus puts the pass's results into the MemberGate's status.
func (o *outcome) writeStatus(mg *v1alpha1.MemberGate) {
	if o == nil || o.status == nil {
		return
	}
	mg.Status.SecurityGroups = o.status
	o.cond.ObservedGeneration = mg.Generation
	meta.SetStatusCondition(&mg.Status.Conditions, o.cond)
}

// Problem categories, as prefixes of status.securityGroups.problems: the
// condition's reason is chosen from them.
const (
	problemOpenStack = "OpenStack: "
	problemRefused   = "refused: "
	problemPorts     = "ports: "
	problemClients   = "clients: "
)

// Reasons of the SecurityGroupsReady condition; part of the API.
const (
	ReasonSynced               = "Synced"
	ReasonAdmitted             = "Admitted"
	ReasonWouldChange          = "WouldChange"
	ReasonMissingRule          = "MissingRule"
	ReasonSourceRefused        = "SourceRefused"
	ReasonOpenStackUnavailable = "OpenStackUnavailable"
	ReasonPortsNotGuarded      = "PortsNotGuarded"
	ReasonClientsNotAdmitted   = "ClientsNotAdmitted"
	ReasonDisabled             = "Disabled"
	ReasonPending              = "Pending"
)

// maxConditionMessage keeps the condition readable; the status has it all.
const maxConditionMessage = 2000

// readyCondition sums the status up: the most pressing problem first.
func readyCondition(st *v1alpha1.SecurityGroupsStatus) metav1.Condition {
	has := func(prefix string) []string {
		var out []string
		for _, p := range st.Problems {
			if strings.HasPrefix(p, prefix) {
				out = append(out, strings.TrimPrefix(p, prefix))
			}
		}
		return out
	}
	var missing, errs []string
	for _, d := range st.Diagnoses {
		switch d.Verdict {
		case diagnose.MissingRule:
			missing = append(missing, d.Machine+": "+d.Message)
		case VerdictError:
			errs = append(errs, d.Machine+": "+d.Message)
		}
	}
	c := metav1.Condition{Type: v1alpha1.SecurityGroupsReadyCondition, Status: metav1.ConditionFalse}
	var parts []string
	switch openstack, refused, ports, clients := append(has(problemOpenStack), errs...), has(problemRefused), has(problemPorts), has(problemClients); {
	case st.Mode == v1alpha1.SecurityGroupsDisabled && len(openstack) == 0:
		c.Status, c.Reason = metav1.ConditionTrue, ReasonDisabled
		parts = append(parts, "security groups are not managed; no rule of membergate's remains")
	case st.Mode == v1alpha1.SecurityGroupsDisabled:
		c.Reason = ReasonOpenStackUnavailable
		parts = append(parts, "could not remove membergate's rules: "+strings.Join(openstack, "; "))
	case len(openstack) > 0:
		c.Reason = ReasonOpenStackUnavailable
		parts = append(parts, strings.Join(openstack, "; "))
	case len(refused) > 0:
		c.Reason = ReasonSourceRefused
		parts = append(parts, strings.Join(refused, "; "))
	case len(missing) > 0:
		c.Reason = ReasonMissingRule
		parts = append(parts, fmt.Sprintf("%d failing member(s) lack a rule: %s", len(missing), strings.Join(missing, "; ")))
	case st.Mode == v1alpha1.SecurityGroupsAudit && len(st.Changes) > 0:
		c.Reason = ReasonWouldChange
	case st.LastSynced == nil:
		c.Status, c.Reason = metav1.ConditionUnknown, ReasonPending
		parts = append(parts, "the groups have not been read yet")
	case len(ports) > 0:
		c.Reason = ReasonPortsNotGuarded
		parts = append(parts, strings.Join(ports, "; "))
	case len(clients) > 0:
		c.Reason = ReasonClientsNotAdmitted
		parts = append(parts, strings.Join(clients, "; "))
	case st.Mode == v1alpha1.SecurityGroupsAudit:
		c.Status, c.Reason = metav1.ConditionTrue, ReasonAdmitted
		parts = append(parts, fmt.Sprintf("Audit: the groups admit TCP from %s to the members' ports; nothing to change", strings.Join(st.Sources, ", ")))
	default:
		c.Status, c.Reason = metav1.ConditionTrue, ReasonSynced
		parts = append(parts, fmt.Sprintf("the groups admit TCP from %s to the members' ports; %d rule(s) of membergate's in place", strings.Join(st.Sources, ", "), len(st.OwnedRules)))
	}
	if len(st.Changes) > 0 {
		if st.Mode == v1alpha1.SecurityGroupsAudit {
			parts = append(parts, "Audit, nothing changed: "+strings.Join(st.Changes, "; ")+"; set spec.securityGroups.mode: Enforce to apply")
		} else {
			parts = append(parts, strings.Join(st.Changes, "; "))
		}
	}
	c.Message = strings.Join(parts, "; ")
	if len(c.Message) > maxConditionMessage {
		c.Message = c.Message[:maxConditionMessage-3] + "..."
	}
	return c
}

// groupsOf summarises the target groups for the status.
func groupsOf(guards []*guarded, pol policy) []v1alpha1.GuardedGroup {
	byID := map[string]*v1alpha1.GuardedGroup{}
	var ids []string
	for _, g := range guards {
		if len(g.port.SecurityGroups) == 0 || !g.port.Filtered() {
			continue
		}
		id := g.port.SecurityGroups[0]
		gg := byID[id]
		if gg == nil {
			gg = &v1alpha1.GuardedGroup{ID: id}
			byID[id] = gg
			ids = append(ids, id)
		}
		gg.Machines = append(gg.Machines, g.machines...)
		switch {
		case pol.AllTCP:
			gg.Ports = append(gg.Ports, "1-65535")
		default:
			for _, p := range g.ports {
				gg.Ports = append(gg.Ports, strconv.Itoa(p))
			}
			if g.nodePorts {
				gg.Ports = append(gg.Ports, fmt.Sprintf("%d-%d", pol.NodePorts.Min, pol.NodePorts.Max))
			}
		}
	}
	slices.Sort(ids)
	var out []v1alpha1.GuardedGroup
	for _, id := range ids {
		gg := byID[id]
		slices.Sort(gg.Machines)
		gg.Machines = slices.Compact(gg.Machines)
		slices.Sort(gg.Ports)
		gg.Ports = slices.Compact(gg.Ports)
		out = append(out, *gg)
	}
	return out
}

// ownedRules are the rules of ours in the groups read.
func ownedRules(v *networking.Service, groups []string, owner secgroup.Owner) []v1alpha1.OwnedRule {
	var out []v1alpha1.OwnedRule
	for _, r := range v.Rules(groups...) {
		if owner.Marks(r) {
			out = append(out, v1alpha1.OwnedRule{ID: r.ID, GroupID: r.SecurityGroupID, Rule: r.String()})
		}
	}
	slices.SortFunc(out, func(a, b v1alpha1.OwnedRule) int { return strings.Compare(a.GroupID+a.ID, b.GroupID+b.ID) })
	return out
}

// ownedGroups are the groups the status says hold rules of ours or were
// targets: where a cleanup must look.
func ownedGroups(st *v1alpha1.SecurityGroupsStatus) []string {
	var out []string
	for _, r := range st.OwnedRules {
		out = append(out, r.GroupID)
	}
	for _, g := range st.Groups {
		out = append(out, g.ID)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// reportProblems emits a Warning when the problems change. A spent
// request budget is not one: the next reconcile goes on where this one
// stopped.
func (r *Reconciler) reportProblems(mg *v1alpha1.MemberGate, prev, now []string) {
	budget := func(p string) bool { return strings.Contains(p, scope.ErrBudgetSpent.Error()) }
	prev, now = slices.DeleteFunc(slices.Clone(prev), budget), slices.DeleteFunc(slices.Clone(now), budget)
	if len(now) > 0 && !slices.Equal(prev, now) {
		r.Recorder.Eventf(mg, nil, corev1.EventTypeWarning, "SecurityGroupsProblem", "SecurityGroups", "%s", strings.Join(now, "; "))
	}
}

func recordDiagnosisMetric(c *clusterv1.Cluster, st *v1alpha1.SecurityGroupsStatus) {
	metrics.MemberDiagnosis.DeletePartialMatch(prometheus.Labels{"namespace": c.Namespace, "cluster": c.Name})
	counts := map[string]int{}
	for _, d := range st.Diagnoses {
		counts[d.Verdict]++
	}
	for verdict, n := range counts {
		metrics.MemberDiagnosis.WithLabelValues(c.Namespace, c.Name, verdict).Set(float64(n))
	}
}
