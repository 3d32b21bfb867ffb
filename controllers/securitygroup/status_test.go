package securitygroup

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/internal/diagnose"
)

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
		{base(func(*v1alpha1.SecurityGroupsStatus) {}), ReasonSynced, metav1.ConditionTrue},
		{base(func(st *v1alpha1.SecurityGroupsStatus) { st.Mode = v1alpha1.SecurityGroupsAudit }), ReasonAdmitted, metav1.ConditionTrue},
		{base(func(st *v1alpha1.SecurityGroupsStatus) { st.LastSynced = nil }), ReasonPending, metav1.ConditionUnknown},
		{base(func(st *v1alpha1.SecurityGroupsStatus) {
			st.Mode, st.Changes = v1alpha1.SecurityGroupsAudit, []string{"would add x"}
		}), ReasonWouldChange, metav1.ConditionFalse},
		{base(func(st *v1alpha1.SecurityGroupsStatus) {
			st.Mode, st.Changes, st.Diagnoses = v1alpha1.SecurityGroupsAudit, []string{"would add x"}, []v1alpha1.MemberDiagnosis{missing}
		}), ReasonMissingRule, metav1.ConditionFalse},
		{base(func(st *v1alpha1.SecurityGroupsStatus) {
			st.Diagnoses, st.Problems = []v1alpha1.MemberDiagnosis{missing}, []string{problemRefused + "refusing source 0.0.0.0/0"}
		}), ReasonSourceRefused, metav1.ConditionFalse},
		{base(func(st *v1alpha1.SecurityGroupsStatus) {
			st.Problems = []string{problemRefused + "x", problemOpenStack + "HTTP 503"}
		}), ReasonOpenStackUnavailable, metav1.ConditionFalse},
		{base(func(st *v1alpha1.SecurityGroupsStatus) { st.Problems = []string{problemClients + "OVN …"} }), ReasonClientsNotAdmitted, metav1.ConditionFalse},
		{base(func(st *v1alpha1.SecurityGroupsStatus) { st.Problems = []string{problemPorts + "no port"} }), ReasonPortsNotGuarded, metav1.ConditionFalse},
		{base(func(st *v1alpha1.SecurityGroupsStatus) { st.Mode = v1alpha1.SecurityGroupsDisabled }), ReasonDisabled, metav1.ConditionTrue},
		{base(func(st *v1alpha1.SecurityGroupsStatus) {
			st.Mode, st.Problems = v1alpha1.SecurityGroupsDisabled, []string{problemOpenStack + "HTTP 503"}
		}), ReasonOpenStackUnavailable, metav1.ConditionFalse},
	} {
		c := readyCondition(tc.st)
		NewWithT(t).Expect([]any{c.Reason, c.Status}).To(Equal([]any{tc.reason, tc.status}), "%+v: %s", tc.st, c.Message)
	}
}
