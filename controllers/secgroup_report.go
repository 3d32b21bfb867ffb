package controllers

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/internal/diagnose"
	"github.com/membergate/membergate/internal/metrics"
)

// Reasons of the SecurityGroupsReady condition; part of the API.
const (
	ReasonSGSynced               = "Synced"
	ReasonSGAdmitted             = "Admitted"
	ReasonSGWouldChange          = "WouldChange"
	ReasonSGMissingRule          = "MissingRule"
	ReasonSGSourceRefused        = "SourceRefused"
	ReasonSGOpenStackUnavailable = "OpenStackUnavailable"
	ReasonSGPortsNotGuarded      = "PortsNotGuarded"
	ReasonSGClientsNotAdmitted   = "ClientsNotAdmitted"
	ReasonSGDisabled             = "Disabled"
	ReasonSGPending              = "Pending"
)

// maxConditionMessage keeps the condition readable; the status has it all.
const maxConditionMessage = 2000

// sgCondition sums the status up: the most pressing problem first.
func sgCondition(st *v1alpha1.SecurityGroupsStatus) metav1.Condition {
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
		c.Status, c.Reason = metav1.ConditionTrue, ReasonSGDisabled
		parts = append(parts, "security groups are not managed; no rule of membergate's remains")
	case st.Mode == v1alpha1.SecurityGroupsDisabled:
		c.Reason = ReasonSGOpenStackUnavailable
		parts = append(parts, "could not remove membergate's rules: "+strings.Join(openstack, "; "))
	case len(openstack) > 0:
		c.Reason = ReasonSGOpenStackUnavailable
		parts = append(parts, strings.Join(openstack, "; "))
	case len(refused) > 0:
		c.Reason = ReasonSGSourceRefused
		parts = append(parts, strings.Join(refused, "; "))
	case len(missing) > 0:
		c.Reason = ReasonSGMissingRule
		parts = append(parts, fmt.Sprintf("%d failing member(s) lack a rule: %s", len(missing), strings.Join(missing, "; ")))
	case st.Mode == v1alpha1.SecurityGroupsAudit && len(st.Changes) > 0:
		c.Reason = ReasonSGWouldChange
	case st.LastSynced == nil:
		c.Status, c.Reason = metav1.ConditionUnknown, ReasonSGPending
		parts = append(parts, "the groups have not been read yet")
	case len(ports) > 0:
		c.Reason = ReasonSGPortsNotGuarded
		parts = append(parts, strings.Join(ports, "; "))
	case len(clients) > 0:
		c.Reason = ReasonSGClientsNotAdmitted
		parts = append(parts, strings.Join(clients, "; "))
	case st.Mode == v1alpha1.SecurityGroupsAudit:
		c.Status, c.Reason = metav1.ConditionTrue, ReasonSGAdmitted
		parts = append(parts, fmt.Sprintf("Audit: the groups admit TCP from %s to the members' ports; nothing to change", strings.Join(st.Sources, ", ")))
	default:
		c.Status, c.Reason = metav1.ConditionTrue, ReasonSGSynced
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

// cleanupRetry is how soon a cleanup that failed is tried again once the
// Cluster is gone and nothing else would requeue it.
const cleanupRetry = 30 * time.Second

// cleanupWithoutCluster removes our rules for a Cluster that is gone while
// its MemberGate, kept by our finalizer, remains: with the identity the
// status recorded.
func (r *GateReconciler) cleanupWithoutCluster(ctx context.Context, key types.NamespacedName) (ctrl.Result, error) {
	if r.Networks == nil {
		return ctrl.Result{}, nil
	}
	mg := &v1alpha1.MemberGate{}
	if err := r.reader().Get(ctx, key, mg); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !controllerutil.ContainsFinalizer(mg, v1alpha1.SecurityGroupsFinalizer) {
		return ctrl.Result{}, nil
	}
	st := &v1alpha1.SecurityGroupsStatus{}
	if mg.Status.SecurityGroups != nil {
		st = mg.Status.SecurityGroups.DeepCopy()
	}
	out := &sgOutcome{status: st}
	// key is the gone Cluster's, the name the MemberGate was read by.
	r.sgCleanup(ctx, out, mg, key, identityOf(mg.Namespace, st), "the cluster is gone")
	orig := mg.DeepCopy()
	out.writeStatus(mg)
	if err := r.Client.Status().Patch(ctx, mg, client.MergeFrom(orig)); client.IgnoreNotFound(err) != nil {
		return ctrl.Result{}, err
	}
	if !out.dropFinalizer {
		return ctrl.Result{RequeueAfter: cleanupRetry}, nil
	}
	return ctrl.Result{}, r.releaseSecurityGroups(ctx, mg, out)
}
