package v1alpha1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DefaultDrainPeriod is what an unset spec.drainPeriod means.
const DefaultDrainPeriod = 30 * time.Second

// DrainStatus is one released Machine's drain: its members taken out of
// rotation (weight 0) before its hook goes, or put back when the release
// rule stopped holding.
type DrainStatus struct {
	// Machine is the control-plane Machine being released.
	Machine string `json:"machine"`
	// StartedAt is when the drain began.
	StartedAt metav1.Time `json:"startedAt"`
	// LastActionAt is when a weight change was last sent.
	// +optional
	LastActionAt *metav1.Time `json:"lastActionAt,omitempty"`
	// LastLookAt is when the gate last looked at the drain: time it was
	// away (a restart) does not count towards the drain period.
	// +optional
	LastLookAt *metav1.Time `json:"lastLookAt,omitempty"`
	// AppliedAt is when Octavia first showed every member ACTIVE with
	// weight 0.
	// +optional
	AppliedAt *metav1.Time `json:"appliedAt,omitempty"`
	// Restoring: the release rule stopped holding; the weights are being
	// put back.
	// +optional
	Restoring bool `json:"restoring,omitempty"`
	// Released: the hook went; kept while the Machine is being deleted, so
	// that a member CAPO creates for it meanwhile is drained too.
	// +optional
	Released bool `json:"released,omitempty"`
	// Members are the members drained, with their weights before.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	Members []DrainedMember `json:"members,omitempty"`
}

// DrainedMember is a member taken out of rotation and the weight it had.
type DrainedMember struct {
	PoolID string `json:"poolID"`
	ID     string `json:"id"`
	// Weight is the member's weight before the drain, put back if the
	// Machine must serve again.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=256
	Weight int32 `json:"weight"`
}
