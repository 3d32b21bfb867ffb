package controllers

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/internal/diagnose"
	"github.com/membergate/membergate/pkg/secgroup"
)

func TestSGPolicyDefaults(t *testing.T) {
	g := NewWithT(t)
	p := sgPolicyOf(&v1alpha1.MemberGate{})
	g.Expect(p.Mode).To(Equal(secgroup.Audit), "unset must change nothing")
	g.Expect(p.NodePorts).To(Equal(secgroup.DefaultNodePorts))
	p = sgPolicyOf(&v1alpha1.MemberGate{Spec: v1alpha1.MemberGateSpec{SecurityGroups: &v1alpha1.SecurityGroupsSpec{
		Mode: v1alpha1.SecurityGroupsEnforce, NodePortRange: &v1alpha1.PortRange{Min: 31000, Max: 31100}, Sources: []string{"10.6.0.5/24", "junk"}}}})
	g.Expect(p.Mode).To(Equal(secgroup.Enforce))
	g.Expect(p.NodePorts).To(Equal(secgroup.PortRange{Min: 31000, Max: 31100}))
	g.Expect(p.sources).To(HaveLen(1), "what does not parse is left out, not guessed at")
	g.Expect(p.sources[0].String()).To(Equal("10.6.0.0/24"))
}

// The condition names the most pressing thing first.
func TestSGConditionPriorities(t *testing.T) {
	synced := metav1.Now()
	base := func(mod func(*v1alpha1.SecurityGroupsStatus)) *v1alpha1.SecurityGroupsStatus {
		st := &v1alpha1.SecurityGroupsStatus{Mode: v1alpha1.SecurityGroupsEnforce, Sources: []string{"10.6.0.0/24"}, LastSynced: &synced}
		mod(st)
		return st
	}
	missing := v1alpha1.MemberDiagnosis{Machine: "cp-0", Verdict: diagnose.MissingRule, Message: "lacks a rule"}
	for _, tc := range []struct {
		st     *v1alpha1.SecurityGroupsStatus
		reason string
		status metav1.ConditionStatus
	}{
		{base(func(*v1alpha1.SecurityGroupsStatus) {}), ReasonSGSynced, metav1.ConditionTrue},
		{base(func(st *v1alpha1.SecurityGroupsStatus) { st.Mode = v1alpha1.SecurityGroupsAudit }), ReasonSGAdmitted, metav1.ConditionTrue},
		{base(func(st *v1alpha1.SecurityGroupsStatus) { st.LastSynced = nil }), ReasonSGPending, metav1.ConditionUnknown},
		{base(func(st *v1alpha1.SecurityGroupsStatus) {
			st.Mode, st.Changes = v1alpha1.SecurityGroupsAudit, []string{"would add x"}
		}), ReasonSGWouldChange, metav1.ConditionFalse},
		{base(func(st *v1alpha1.SecurityGroupsStatus) {
			st.Mode, st.Changes, st.Diagnoses = v1alpha1.SecurityGroupsAudit, []string{"would add x"}, []v1alpha1.MemberDiagnosis{missing}
		}), ReasonSGMissingRule, metav1.ConditionFalse},
		{base(func(st *v1alpha1.SecurityGroupsStatus) {
			st.Diagnoses, st.Problems = []v1alpha1.MemberDiagnosis{missing}, []string{problemRefused + "refusing source 0.0.0.0/0"}
		}), ReasonSGSourceRefused, metav1.ConditionFalse},
		{base(func(st *v1alpha1.SecurityGroupsStatus) {
			st.Problems = []string{problemRefused + "x", problemOpenStack + "HTTP 503"}
		}), ReasonSGOpenStackUnavailable, metav1.ConditionFalse},
		{base(func(st *v1alpha1.SecurityGroupsStatus) { st.Problems = []string{problemClients + "OVN …"} }), ReasonSGClientsNotAdmitted, metav1.ConditionFalse},
		{base(func(st *v1alpha1.SecurityGroupsStatus) { st.Problems = []string{problemPorts + "no port"} }), ReasonSGPortsNotGuarded, metav1.ConditionFalse},
		{base(func(st *v1alpha1.SecurityGroupsStatus) { st.Mode = v1alpha1.SecurityGroupsDisabled }), ReasonSGDisabled, metav1.ConditionTrue},
		{base(func(st *v1alpha1.SecurityGroupsStatus) {
			st.Mode, st.Problems = v1alpha1.SecurityGroupsDisabled, []string{problemOpenStack + "HTTP 503"}
		}), ReasonSGOpenStackUnavailable, metav1.ConditionFalse},
	} {
		c := sgCondition(tc.st)
		NewWithT(t).Expect([]any{c.Reason, c.Status}).To(Equal([]any{tc.reason, tc.status}), "%+v: %s", tc.st, c.Message)
	}
}
