package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Annotations and condition types that are part of the API.
const (
	// PreDrainHookAnnotation is the CAPI pre-drain deletion hook the gate
	// puts on every control-plane Machine of a gated cluster. CAPI does not
	// drain or delete a Machine while it carries it.
	PreDrainHookAnnotation = "pre-drain.delete.hook.machine.cluster.x-k8s.io/membergate"
	// HookOwner is the hook annotation's value: who owns the hook.
	HookOwner = "membergate"
	// ReleaseAnnotation, set on a held Machine by a person ("who: why"),
	// releases its hook at once; the release is recorded in a Warning event.
	ReleaseAnnotation = "membergate.io/release"
	// SkipAnnotation, set to "true" on a Cluster, opts it out of gating.
	SkipAnnotation = "membergate.io/skip"
	// MemberReadyCondition is the condition the gate keeps on every
	// control-plane Machine: True when the Machine has a serving member in
	// every pool of the API load balancer.
	MemberReadyCondition = "LoadBalancerMemberReady"
	// ReadyCondition on a MemberGate: the gate observed the cluster.
	ReadyCondition = "Ready"
	// BlockingCondition on a MemberGate: True while a rollout is held.
	BlockingCondition = "Blocking"
)

// GateMode is how a cluster is gated.
// +kubebuilder:validation:Enum=Enforce;Audit;Disabled
type GateMode string

const (
	// ModeEnforce holds rollouts until the new members serve.
	ModeEnforce GateMode = "Enforce"
	// ModeAudit reports, never holds.
	ModeAudit GateMode = "Audit"
	// ModeDisabled removes the gate's hooks and reports nothing.
	ModeDisabled GateMode = "Disabled"
)

// NoMonitorPolicy says what NO_MONITOR means for a member.
// +kubebuilder:validation:Enum=Fail;Serving;Wait
type NoMonitorPolicy string

// MemberGateSpec is the gating policy of one Cluster.
type MemberGateSpec struct {
	// ClusterName is the gated Cluster, in the MemberGate's namespace.
	// Immutable.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="clusterName is immutable: create a MemberGate for the other cluster instead"
	ClusterName string `json:"clusterName"`

	// Mode: Enforce (hold rollouts), Audit (report only) or Disabled.
	// +kubebuilder:default=Enforce
	// +optional
	Mode GateMode `json:"mode,omitempty"`

	// SettleWindow is how long a member must stay ACTIVE and ONLINE before
	// it counts as serving. Default 45s: CAPO's health monitor needs up to
	// 35 s to fail a bad member and a heartbeat to report it.
	// +optional
	SettleWindow *metav1.Duration `json:"settleWindow,omitempty"`

	// NoMonitorPolicy: what a member's NO_MONITOR (its pool has no health
	// monitor) means. Fail (never serving), Serving, or Wait.
	// +kubebuilder:default=Fail
	// +optional
	NoMonitorPolicy NoMonitorPolicy `json:"noMonitorPolicy,omitempty"`

	// MinServingMembers is how many other control-plane Machines must stay
	// member-ready when one is deleted; unset means all of them.
	// +kubebuilder:validation:Minimum=1
	// +optional
	MinServingMembers *int32 `json:"minServingMembers,omitempty"`

	// AlertAfter is how long a hold lasts before a Warning event, a
	// condition and a metric say so. The hold itself never ends because
	// time passed. Default 15m.
	// +optional
	AlertAfter *metav1.Duration `json:"alertAfter,omitempty"`
}

// MemberGateStatus is what the gate last observed.
type MemberGateStatus struct {
	// LoadBalancerID is the API server load balancer.
	// +optional
	LoadBalancerID string `json:"loadBalancerID,omitempty"`
	// LoadBalancerStatus is its provisioning/operating status.
	// +optional
	LoadBalancerStatus string `json:"loadBalancerStatus,omitempty"`
	// Ready counts member-ready control-plane Machines, as "ready/total".
	// +optional
	Ready string `json:"ready,omitempty"`
	// Blocking is true while a deleting control-plane Machine is held.
	// +optional
	Blocking bool `json:"blocking,omitempty"`
	// Reason says in a line why the gate blocks, or its state.
	// +optional
	Reason string `json:"reason,omitempty"`
	// Machines is a row per control-plane Machine.
	// +optional
	// +listType=map
	// +listMapKey=name
	Machines []MachineMembers `json:"machines,omitempty"`
	// Orphans are members that belong to no control-plane Machine.
	// +optional
	Orphans []Member `json:"orphans,omitempty"`
	// LastChecked is when Octavia was last observed.
	// +optional
	LastChecked *metav1.Time `json:"lastChecked,omitempty"`
	// ObservedGeneration is the spec generation the status reflects.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Ready, Blocking.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// MachineMembers is one control-plane Machine and its members.
type MachineMembers struct {
	// Name of the Machine.
	Name string `json:"name"`
	// Deleting is true once the Machine is being deleted.
	// +optional
	Deleting bool `json:"deleting,omitempty"`
	// MemberReady is true when it has a serving member in every pool.
	// +optional
	MemberReady bool `json:"memberReady,omitempty"`
	// Reason is the LoadBalancerMemberReady condition's reason.
	// +optional
	Reason string `json:"reason,omitempty"`
	// Held is true while the gate holds this deleting Machine.
	// +optional
	Held bool `json:"held,omitempty"`
	// HeldSince is when the hold began.
	// +optional
	HeldSince *metav1.Time `json:"heldSince,omitempty"`
	// Alerted is true once the hold was reported as too long.
	// +optional
	Alerted bool `json:"alerted,omitempty"`
	// Members is one row per pool.
	// +optional
	Members []Member `json:"members,omitempty"`
}

// Member is one pool member as last observed, with the waiter's progress.
type Member struct {
	// PoolID is the member's pool.
	PoolID string `json:"poolID"`
	// ID is the member's ID; empty when none was found.
	// +optional
	ID string `json:"id,omitempty"`
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	Address string `json:"address,omitempty"`
	// +optional
	ProtocolPort int32 `json:"protocolPort,omitempty"`
	// +optional
	ProvisioningStatus string `json:"provisioningStatus,omitempty"`
	// +optional
	OperatingStatus string `json:"operatingStatus,omitempty"`
	// Since is when the current statuses were first observed.
	// +optional
	Since *metav1.Time `json:"since,omitempty"`
	// MissingSince is when the member was first found missing.
	// +optional
	MissingSince *metav1.Time `json:"missingSince,omitempty"`
	// Serving is true when the member reached Serving.
	// +optional
	Serving bool `json:"serving,omitempty"`
	// Message says where the member is, in words.
	// +optional
	Message string `json:"message,omitempty"`
}

// MemberGate holds a Cluster's control-plane rollouts until the new
// load-balancer members serve. One per gated Cluster, created with defaults
// when absent and owned by the Cluster.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=mg,categories=cluster-api
// +kubebuilder:printcolumn:name="Cluster",type=string,JSONPath=`.spec.clusterName`
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.ready`
// +kubebuilder:printcolumn:name="Blocking",type=boolean,JSONPath=`.status.blocking`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type MemberGate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   MemberGateSpec   `json:"spec,omitempty"`
	Status MemberGateStatus `json:"status,omitempty"`
}

// MemberGateList is a list of MemberGates.
//
// +kubebuilder:object:root=true
type MemberGateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MemberGate `json:"items"`
}

func init() {
	SchemeBuilder.Register(&MemberGate{}, &MemberGateList{})
}
