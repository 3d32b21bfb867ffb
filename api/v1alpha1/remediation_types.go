package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// MemberRemediation is what the gate does about a control-plane Machine's
// load-balancer member in provisioning ERROR.
// +kubebuilder:validation:Enum=None;Recreate
type MemberRemediation string

const (
	// RemediationNone, the default: the member is reported and the
	// rollout held; a person deletes it.
	RemediationNone MemberRemediation = "None"
	// RemediationRecreate deletes the member and has CAPO create it again
	// (by poking the Machine's infrastructure Machine), at most three
	// times per member an hour, and never while more than one member of
	// the load balancer is in ERROR.
	RemediationRecreate MemberRemediation = "Recreate"
)

// RecreateMemberAnnotation is set by the gate on a control-plane Machine's
// infrastructure Machine (CAPO's OpenStackMachine) once it has deleted the
// Machine's member in ERROR: the change makes CAPO reconcile the object at
// once, and CAPO creates a member for a Machine that has none. Its value is
// when the gate asked.
const RecreateMemberAnnotation = "membergate.io/recreate-member"

// RemediationStatus is the record of member remediation.
type RemediationStatus struct {
	// Attempts of the last hour, and those under way.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Attempts []RemediationAttempt `json:"attempts,omitempty"`
	// Suspended says why no member is recreated now (more than one member
	// in ERROR at once); empty when remediation may act.
	// +optional
	Suspended string `json:"suspended,omitempty"`
}

// RemediationAttempt is one recreation of one member.
type RemediationAttempt struct {
	// Machine is the control-plane Machine whose member it is.
	Machine string `json:"machine"`
	// PoolID is the member's pool.
	PoolID string `json:"poolID"`
	// MemberID is the member in ERROR that was deleted.
	MemberID string `json:"memberID"`
	// +optional
	Address string `json:"address,omitempty"`
	// Phase: Deleting, Recreating (gone; CAPO asked to create it again),
	// Recreated (a new member appeared), or Exhausted (no attempt: the
	// hour's attempts are spent).
	// +kubebuilder:validation:Enum=Deleting;Recreating;Recreated;Exhausted
	Phase string `json:"phase"`
	// StartedAt is when the attempt began.
	StartedAt metav1.Time `json:"startedAt"`
	// LastActionAt is when the delete was last sent or CAPO last asked.
	// +optional
	LastActionAt *metav1.Time `json:"lastActionAt,omitempty"`
	// NewMemberID is the member that replaced it.
	// +optional
	NewMemberID string `json:"newMemberID,omitempty"`
}
