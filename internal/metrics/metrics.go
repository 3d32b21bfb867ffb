// Package metrics holds every metric the manager's controllers export. They
// are registered here, once, with controller-runtime's registry (served on
// the manager's metrics endpoint), so that the reconcilers and the cloud
// clients that update them cannot register one twice or forget one.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	// MachinesByReason counts control-plane Machines by the reason of their
	// LoadBalancerMemberReady condition.
	MachinesByReason = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "membergate_machines",
		Help: "Control-plane Machines by LoadBalancerMemberReady reason.",
	}, []string{"namespace", "cluster", "reason"})
	// HeldSeconds is how long a cluster's rollout has been held.
	HeldSeconds = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "membergate_held_seconds",
		Help: "How long the cluster's rollout has been held (0 when not held).",
	}, []string{"namespace", "cluster"})
	// HoldAlert is 1 while a hold has lasted past alertAfter.
	HoldAlert = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "membergate_hold_alert",
		Help: "1 while a hold has lasted past the MemberGate's alertAfter.",
	}, []string{"namespace", "cluster"})
	// OctaviaRequests counts the requests to Octavia and Keystone.
	OctaviaRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "membergate_octavia_requests_total",
		Help: "Requests to Octavia (and Keystone) by operation and HTTP status code; code is \"error\" when no answer came.",
	}, []string{"operation", "code"})
	// NeutronRequests counts the requests to Neutron.
	NeutronRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "membergate_neutron_requests_total",
		Help: "Requests to Neutron by operation and HTTP status code; code is \"error\" when no answer came.",
	}, []string{"operation", "code"})
	// MemberDiagnosis counts the failing members by the verdict on their
	// security groups.
	MemberDiagnosis = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "membergate_member_diagnosis",
		Help: "Members ACTIVE but ERROR/OFFLINE past their settle window, by the verdict on their security groups (admitted, missing rule, port security disabled, no port found, error).",
	}, []string{"namespace", "cluster", "verdict"})
	// OctaviaUnavailableSeconds is how long Octavia has been unreadable
	// for a cluster: an alert on it names the cluster, which the request
	// counters, shared by every cluster of a cloud, cannot.
	OctaviaUnavailableSeconds = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "membergate_octavia_unavailable_seconds",
		Help: "How long Octavia has been unreadable for the cluster's load balancer (0 when the last observation read it).",
	}, []string{"namespace", "cluster"})
	// OrphanMembers counts the API load balancer's members that belong to
	// no control-plane Machine.
	OrphanMembers = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "membergate_orphan_members",
		Help: "Members of the cluster's API load balancer that belong to no control-plane Machine.",
	}, []string{"namespace", "cluster"})
	// BudgetExhausted counts the requests to OpenStack refused because a
	// request budget was spent, by which: "identity" (one identity's
	// share) or "endpoint" (the cap of a cloud endpoint all identities
	// share). Never by identity or endpoint name: tenants choose those.
	BudgetExhausted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "membergate_request_budget_exhausted_total",
		Help: "Requests to OpenStack refused because a request budget was spent, by budget (identity or endpoint).",
	}, []string{"budget"})
	// MemberRemediations counts what member remediation did, by action:
	// deleted, delete_failed, capo_asked, recreated, exhausted, suspended.
	MemberRemediations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "membergate_member_remediations_total",
		Help: "Recreation of control-plane members in provisioning ERROR (spec.remediation: Recreate), by action: deleted, delete_failed, capo_asked, recreated, exhausted, suspended.",
	}, []string{"namespace", "cluster", "action"})
	// MemberDrains counts the drains of released Machines' members, by
	// outcome: drained (weight 0 applied), restored (the release rule
	// stopped holding; weights put back), released_undrained (not applied
	// within the drain period; released anyway).
	MemberDrains = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "membergate_member_drains_total",
		Help: "Drains of released control-plane Machines' members before the hook goes, by outcome: drained, restored, released_undrained.",
	}, []string{"namespace", "cluster", "outcome"})
)

// The budgets BudgetExhausted counts by.
const (
	BudgetIdentity = "identity"
	BudgetEndpoint = "endpoint"
)

func init() {
	metrics.Registry.MustRegister(MachinesByReason, HeldSeconds, HoldAlert, OctaviaRequests, NeutronRequests, MemberDiagnosis,
		OctaviaUnavailableSeconds, OrphanMembers, BudgetExhausted, MemberRemediations, MemberDrains)
	// Both series exist from the start, at 0: a rate over a counter that
	// appears with its first refusal misses that refusal.
	BudgetExhausted.WithLabelValues(BudgetIdentity)
	BudgetExhausted.WithLabelValues(BudgetEndpoint)
}

// ForgetCluster removes every series of a cluster that is gone or no
// longer gated: a management cluster that creates and deletes clusters
// would otherwise export the series of every cluster it ever had.
func ForgetCluster(namespace, name string) {
	l := prometheus.Labels{"namespace": namespace, "cluster": name}
	for _, v := range []*prometheus.GaugeVec{MachinesByReason, HeldSeconds, HoldAlert, MemberDiagnosis, OctaviaUnavailableSeconds, OrphanMembers} {
		v.DeletePartialMatch(l)
	}
	MemberRemediations.DeletePartialMatch(l)
	MemberDrains.DeletePartialMatch(l)
}
