package securitygroup

import (
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/listeners"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/membergate/membergate/internal/diagnose"
	"github.com/membergate/membergate/internal/metrics"
)

// The case operators trace by hand: nodes on the project's default group,
// which admits only its own members, so the health checks from the member
// subnet are dropped and the members go ERROR. The manager says which group
// lacks which rule — in the MemberGate's condition, the Machines'
// conditions, events and a metric — at most every DiagnosisInterval; once
// Enforce adds the rule, it says the groups admit the checks.
func TestDiagnosisOfTheDefaultGroup(t *testing.T) {
	w := newWorld(t, options{machines: 2, cpGroups: []string{"default"}, operating: "ERROR"})
	w.run(3*time.Minute, func() bool { c := w.sgCondition(); return c != nil && c.Reason == ReasonMissingRule })
	fix := "ingress tcp port 6443 from 10.6.0.0/24"
	cond := w.sgCondition()
	w.g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
	w.g.Expect(cond.Message).To(ContainSubstring("2 failing member(s) lack a rule"))
	w.g.Expect(cond.Message).To(ContainSubstring("no rule of its port's groups (" + w.def + ") admits TCP port 6443 from 10.6.0.0/24"))
	w.g.Expect(cond.Message).To(ContainSubstring("fix: add to group " + w.def + ": " + fix))
	ds := w.memberGate().Status.SecurityGroups.Diagnoses
	w.g.Expect(ds).To(HaveLen(2))
	w.g.Expect(ds[0].Verdict).To(Equal(diagnose.MissingRule))
	w.g.Expect(ds[0].Fix).To(Equal("add to group " + w.def + ": " + fix))
	w.g.Expect(w.condition(0).Message).To(ContainSubstring("security groups: member 10.6.0.11:6443"))
	w.g.Expect(w.condition(0).Message).To(ContainSubstring(fix))
	w.g.Expect(strings.Count(strings.Join(w.events(), "\n"), "MemberDiagnosed")).To(Equal(2))
	w.g.Expect(testutil.ToFloat64(metrics.MemberDiagnosis.WithLabelValues(w.ns, "test", diagnose.MissingRule))).To(Equal(2.0))
	w.g.Expect(w.ruleWrites()).To(BeZero(), "Audit wrote a rule")

	// Not diagnosed again on every reconcile.
	at := w.clk.Now()
	w.run(DiagnosisInterval, func() bool { return w.clk.Since(at) > DiagnosisInterval-2*Resync })
	w.g.Expect(strings.Join(w.events(), "\n")).NotTo(ContainSubstring("MemberDiagnosed"))
	w.run(2*DiagnosisInterval, func() bool { return w.clk.Since(at) >= DiagnosisInterval })
	w.g.Expect(strings.Count(strings.Join(w.events(), "\n"), "MemberDiagnosed")).To(Equal(2))

	// Enforce adds the rule; the members are judged again at once.
	w.setSG(enforce())
	w.reconcile()
	w.g.Expect(w.ours(w.def)).To(HaveLen(1))
	ds = w.memberGate().Status.SecurityGroups.Diagnoses
	w.g.Expect(ds).To(HaveLen(2))
	w.g.Expect(ds[0].Verdict).To(Equal(diagnose.Admitted))
	w.g.Expect(ds[0].Message).To(ContainSubstring("the cause is elsewhere"))
	w.g.Expect(w.sgCondition().Reason).To(Equal(ReasonSynced))
	w.g.Expect(w.condition(1).Message).To(ContainSubstring("the cause is elsewhere"))
	w.g.Expect(testutil.ToFloat64(metrics.MemberDiagnosis.WithLabelValues(w.ns, "test", diagnose.Admitted))).To(Equal(2.0))
}

// With OVN, clients keep their address: listener allowed_cidrs the node
// groups do not admit are reported, never opened.
func TestSecurityGroupsOVNReportsClientCIDRs(t *testing.T) {
	w := newWorld(t, options{machines: 1, cpGroups: []string{"cp"}, provider: "ovn", sg: enforce()})
	allowed := []string{"203.0.113.0/24"}
	_, err := listeners.Update(w.ctx, w.octa.ServiceClient(), w.listener, listeners.UpdateOpts{AllowedCIDRs: &allowed}).Extract()
	w.g.Expect(err).NotTo(HaveOccurred())
	w.clk.Step(2 * time.Second)
	w.reconcile()
	ours := w.ours(w.cp)
	w.g.Expect(ours).To(HaveLen(1))
	w.g.Expect(ours[0].RemoteIPPrefix).To(Equal("10.6.0.0/24"), "health checks come from the member subnet")
	cond := w.sgCondition()
	w.g.Expect(cond.Reason).To(Equal(ReasonClientsNotAdmitted))
	w.g.Expect(cond.Message).To(ContainSubstring("allows 203.0.113.0/24, which the groups of cp-0's port (" + w.cp + ") do not admit to port 6443"))
	for _, r := range w.rules(w.cp) {
		w.g.Expect(r.RemoteIPPrefix).NotTo(Equal("203.0.113.0/24"), "widened for clients")
	}
}
