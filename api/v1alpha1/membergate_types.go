package v1alpha1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DefaultAlertAfter is what an unset spec.alertAfter means: the gate and the
// defaulting webhook both read it from here.
const DefaultAlertAfter = 15 * time.Minute

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
	// HealthMonitorsCondition on a MemberGate: False while a pool of the
	// API load balancer has no health monitor, so that Octavia cannot tell
	// whether its members answer.
	HealthMonitorsCondition = "HealthMonitors"
	// SecurityGroupsReadyCondition on a MemberGate: True when the nodes'
	// security groups admit the load balancer as the policy wants (in
	// Audit: when nothing would change) and no failing member lacks a rule.
	SecurityGroupsReadyCondition = "SecurityGroupsReady"
	// SecurityGroupsFinalizer keeps a MemberGate until the security-group
	// rules its enforcement created are removed. It is present only while
	// such rules exist.
	SecurityGroupsFinalizer = "membergate.io/security-groups"
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
// +kubebuilder:validation:Enum=Provisioned;Fail;Serving;Wait
type NoMonitorPolicy string

// The NO_MONITOR policies.
const (
	// NoMonitorProvisioned, the default: a member of a pool without a health
	// monitor counts as serving once ACTIVE (after the settle window), and
	// its Machine's condition and a Warning event say that Octavia cannot
	// tell whether it answers. A pool without a monitor (OVN when CAPO
	// skips it, a monitor someone deleted) then never freezes a rollout.
	NoMonitorProvisioned NoMonitorPolicy = "Provisioned"
	// NoMonitorFail never counts such a member as serving: every deletion
	// is held until a monitor is added.
	NoMonitorFail NoMonitorPolicy = "Fail"
	// NoMonitorServing counts it as serving, as Provisioned does.
	NoMonitorServing NoMonitorPolicy = "Serving"
	// NoMonitorWait waits for a monitor to appear and report ONLINE.
	NoMonitorWait NoMonitorPolicy = "Wait"
)

// DefaultNoMonitorPolicy is what an unset spec.noMonitorPolicy means.
const DefaultNoMonitorPolicy = NoMonitorProvisioned

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
	// it counts as serving. Unset means Auto: derived per pool from its
	// health monitor, delay×max_retries_down + timeout + heartbeatInterval
	// + 5s (50s for CAPO's monitor), which is how long HAProxy takes to
	// fail a member it added UP and the amphora to report it; 45s for a
	// pool whose monitor cannot be read or that has none. A duration fixes
	// the window for every pool; 0s means none.
	// +optional
	SettleWindow *metav1.Duration `json:"settleWindow,omitempty"`

	// HeartbeatInterval is the amphorae's heartbeat interval (Octavia's
	// [health_manager] heartbeat_interval), which the Auto settle window
	// adds. Default 10s.
	// +optional
	HeartbeatInterval *metav1.Duration `json:"heartbeatInterval,omitempty"`

	// NoMonitorPolicy: what a member's NO_MONITOR (its pool has no health
	// monitor) means. Provisioned (the default: ACTIVE counts, with a
	// warning that Octavia cannot tell whether it answers), Fail (never
	// serving: every deletion is held until a monitor is added), Serving
	// (as Provisioned), or Wait (for a monitor to be added).
	// +kubebuilder:default=Provisioned
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

	// SecurityGroups is the policy for the nodes' security groups: that
	// they admit TCP from the load balancer's subnet(s) to the members'
	// ports. Unset means mode Audit: report, change nothing.
	// +optional
	SecurityGroups *SecurityGroupsSpec `json:"securityGroups,omitempty"`

	// Remediation of a control-plane member in provisioning ERROR: None
	// (the default: report and hold) or Recreate (delete it and have CAPO
	// create it again, bounded; see RemediationRecreate).
	// +kubebuilder:default=None
	// +optional
	Remediation MemberRemediation `json:"remediation,omitempty"`

	// DrainPeriod is how long a released control-plane Machine's members
	// stay out of rotation before its pre-drain hook goes: when the release
	// rule lets a deleting Machine go, the gate sets its members' weight to
	// 0 (the load balancer sends them no new connections, existing ones go
	// on), waits until Octavia has applied it, then this long. Unset means
	// 30s (the 99th-percentile latency Kubernetes allows its slowest
	// non-streaming API calls); 0s turns draining off. A member that cannot
	// be drained is released with a Warning once this period has passed.
	// +optional
	DrainPeriod *metav1.Duration `json:"drainPeriod,omitempty"`
}

// SecurityGroupMode is how the security-group policy is applied.
// +kubebuilder:validation:Enum=Enforce;Audit;Disabled
type SecurityGroupMode string

const (
	// SecurityGroupsEnforce creates the missing rules, repairs them when
	// deleted and removes its own rules the policy no longer holds.
	SecurityGroupsEnforce SecurityGroupMode = "Enforce"
	// SecurityGroupsAudit computes the same changes and only reports them.
	// The default: changing a cloud's firewall is an operator's choice.
	SecurityGroupsAudit SecurityGroupMode = "Audit"
	// SecurityGroupsDisabled removes the rules enforcement created and
	// reports nothing about the groups.
	SecurityGroupsDisabled SecurityGroupMode = "Disabled"
)

// SecurityGroupsSpec is the least-privilege rule policy: ingress TCP from
// the subnet(s) the load balancer reaches the members from, to the
// members' protocol and monitor ports on the control-plane nodes' groups
// (and the NodePort range on the workers' groups, when asked).
type SecurityGroupsSpec struct {
	// Mode: Enforce, Audit (report only; the default) or Disabled.
	// +kubebuilder:default=Audit
	// +optional
	Mode SecurityGroupMode `json:"mode,omitempty"`

	// Workers also opens the NodePort range on the groups of the worker
	// Machines' ports.
	// +optional
	Workers bool `json:"workers,omitempty"`

	// NodePortRange is the workers' range. Default 30000-32767, the
	// Kubernetes default.
	// +optional
	NodePortRange *PortRange `json:"nodePortRange,omitempty"`

	// AllTCP opens every TCP port instead of the members' ports and the
	// NodePort range. Only when chosen.
	// +optional
	AllTCP bool `json:"allTCP,omitempty"`

	// Sources are the CIDRs to admit instead of the load balancer's
	// subnets, derived from its members (or its VIP subnet).
	// +kubebuilder:validation:MaxItems=16
	// +listType=set
	// +optional
	Sources []string `json:"sources,omitempty"`

	// AllowAnywhere permits 0.0.0.0/0 and ::/0 as a source (a load
	// balancer on a public subnet, say); without it they are refused.
	// +optional
	AllowAnywhere bool `json:"allowAnywhere,omitempty"`
}

// PortRange is an inclusive range of TCP ports.
type PortRange struct {
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Min int32 `json:"min"`
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Max int32 `json:"max"`
}

// MemberGateStatus is what the gate last observed.
type MemberGateStatus struct {
	// Conditions: Ready (the gate could observe what it gates on; its
	// reason says why not), Blocking (True while a deleting control-plane
	// Machine is held; its message says in a line what the gate waits for,
	// or its state), HealthMonitors and SecurityGroupsReady.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// LoadBalancer is the API server load balancer as last observed.
	// +optional
	LoadBalancer LoadBalancerStatus `json:"loadBalancer,omitempty,omitzero"`
	// Replicas is the number of control-plane Machines of the cluster,
	// deleting ones included: one per row of machines.
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`
	// MemberReadyReplicas is the number of control-plane Machines that are
	// member-ready: their LoadBalancerMemberReady condition is True (a
	// serving member in every pool of the load balancer).
	// +optional
	MemberReadyReplicas *int32 `json:"memberReadyReplicas,omitempty"`
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
	// SecurityGroups is what the security-group enforcement and the
	// member diagnosis last found and did.
	// +optional
	SecurityGroups *SecurityGroupsStatus `json:"securityGroups,omitempty"`
	// Remediation is the record of members recreated (spec.remediation).
	// +optional
	Remediation *RemediationStatus `json:"remediation,omitempty"`
	// Drains are the drains under way: members of released Machines being
	// taken out of rotation (spec.drainPeriod).
	// +optional
	// +listType=map
	// +listMapKey=machine
	// +kubebuilder:validation:MaxItems=64
	Drains []DrainStatus `json:"drains,omitempty"`
}

// LoadBalancerStatus is the API server load balancer as the gate last
// observed it.
type LoadBalancerStatus struct {
	// ID of the load balancer, from the OpenStackCluster.
	// +optional
	ID string `json:"id,omitempty"`
	// ProvisioningStatus is Octavia's provisioning status of it (ACTIVE,
	// PENDING_UPDATE, ERROR, ...). Empty when the load balancer was not
	// found; kept from the last good observation while Octavia cannot be
	// read (the Ready condition says so).
	// +optional
	ProvisioningStatus string `json:"provisioningStatus,omitempty"`
	// OperatingStatus is Octavia's operating status of it (ONLINE,
	// DEGRADED, ERROR, ...), empty and kept as ProvisioningStatus is.
	// +optional
	OperatingStatus string `json:"operatingStatus,omitempty"`
}

// SecurityGroupsStatus is the last security-group pass.
type SecurityGroupsStatus struct {
	// Mode is the mode the pass ran in.
	// +optional
	Mode SecurityGroupMode `json:"mode,omitempty"`
	// Sources are the CIDRs the load balancer reaches the members from.
	// +optional
	Sources []string `json:"sources,omitempty"`
	// Groups are the security groups guarding the nodes' ports, with the
	// ports each must admit.
	// +optional
	Groups []GuardedGroup `json:"groups,omitempty"`
	// OwnedRules are the rules enforcement created that exist; they are
	// removed when the policy stops holding them, on Disabled and on
	// cluster deletion.
	// +optional
	OwnedRules []OwnedRule `json:"ownedRules,omitempty"`
	// Changes are what the last pass changed (Enforce) or would change
	// (Audit), in words.
	// +optional
	Changes []string `json:"changes,omitempty"`
	// Problems are what keeps the policy from being applied in full:
	// refused sources, failed requests, listener CIDRs the groups do not
	// admit (OVN).
	// +optional
	Problems []string `json:"problems,omitempty"`
	// Identity is the identity Secret the rules were managed with, kept so
	// that they can be removed after the OpenStackCluster is gone.
	// +optional
	Identity *IdentityReference `json:"identity,omitempty"`
	// LastSynced is when the groups were last read.
	// +optional
	LastSynced *metav1.Time `json:"lastSynced,omitempty"`
	// Diagnoses are the verdicts on members that are ACTIVE but ERROR or
	// OFFLINE past their settle window. Each is renewed at most every few
	// minutes while the member keeps failing.
	// +optional
	// +listType=map
	// +listMapKey=memberID
	Diagnoses []MemberDiagnosis `json:"diagnoses,omitempty"`
}

// GuardedGroup is one security group the policy targets.
type GuardedGroup struct {
	// ID of the group.
	ID string `json:"id"`
	// Machines whose ports the group guards.
	// +optional
	Machines []string `json:"machines,omitempty"`
	// Ports the group must admit from the sources, as "6443" or
	// "30000-32767".
	// +optional
	Ports []string `json:"ports,omitempty"`
}

// OwnedRule is a rule enforcement created.
type OwnedRule struct {
	// ID of the rule.
	ID string `json:"id"`
	// GroupID is its security group.
	GroupID string `json:"groupID"`
	// Rule in words: "ingress tcp port 6443 from 10.6.0.0/24".
	Rule string `json:"rule"`
}

// IdentityReference names CAPO's identity Secret.
type IdentityReference struct {
	// SecretName in the MemberGate's namespace.
	SecretName string `json:"secretName"`
	// CloudName is the cloud in its clouds.yaml.
	// +optional
	CloudName string `json:"cloudName,omitempty"`
	// +optional
	Region string `json:"region,omitempty"`
}

// MemberDiagnosis is why a failing member's health checks fail, as far as
// its security groups tell.
type MemberDiagnosis struct {
	// MemberID is the member.
	MemberID string `json:"memberID"`
	// Machine whose member it is.
	// +optional
	Machine string `json:"machine,omitempty"`
	// PoolID is the member's pool.
	// +optional
	PoolID string `json:"poolID,omitempty"`
	// Address and Port are where the checks go (the monitor port when the
	// member has one).
	// +optional
	Address string `json:"address,omitempty"`
	// +optional
	Port int32 `json:"port,omitempty"`
	// Statuses are the member's provisioning/operating statuses.
	// +optional
	Statuses string `json:"statuses,omitempty"`
	// Source is the CIDR the checks come from.
	// +optional
	Source string `json:"source,omitempty"`
	// Groups guard the member's port.
	// +optional
	Groups []string `json:"groups,omitempty"`
	// Verdict: "admitted", "missing rule", "port security disabled",
	// "no port found", or "error".
	Verdict string `json:"verdict"`
	// Fix is the rule that would admit the checks, when one is missing.
	// +optional
	Fix string `json:"fix,omitempty"`
	// Message says it in a sentence.
	// +optional
	Message string `json:"message,omitempty"`
	// At is when the diagnosis ran.
	At metav1.Time `json:"at"`
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
	// Message is the LoadBalancerMemberReady condition's message, as the
	// last good observation of Octavia left it.
	// +optional
	Message string `json:"message,omitempty"`
	// Release is the manual-release annotation as the gate first saw it.
	// +optional
	Release *ReleaseSighting `json:"release,omitempty"`
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

// ReleaseSighting is when the gate first saw a value of the manual-release
// annotation on a Machine. A value first seen before the Machine began
// deleting (from a template's metadata, say) does not release it: set a new
// value to release by hand.
type ReleaseSighting struct {
	// Value is the annotation's value.
	Value string `json:"value"`
	// SeenAt is when the gate first saw it.
	SeenAt metav1.Time `json:"seenAt"`
	// BeforeDeletion is true when the Machine was not deleting then.
	// +optional
	BeforeDeletion bool `json:"beforeDeletion,omitempty"`
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
	// LastSeen is the last successful observation of the member, and
	// LoadBalancerPending whether its load balancer was PENDING_* then: a
	// settle window only runs over statuses fresh throughout.
	// +optional
	LastSeen *metav1.Time `json:"lastSeen,omitempty"`
	// +optional
	LoadBalancerPending bool `json:"loadBalancerPending,omitempty"`
}

// The name rule holds at creation only (oldSelf absent): both names are
// immutable, so it holds for good, and a MemberGate made before the rule
// stays updatable, so that its finalizer can still be removed.
// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || self.metadata.name == self.spec.clusterName",optionalOldSelf=true,message="metadata.name must equal spec.clusterName: name the MemberGate after its Cluster, one MemberGate per Cluster"

// MemberGate holds a Cluster's control-plane rollouts until the new
// load-balancer members serve. One per gated Cluster, named after it: the
// gate reads the MemberGate of the Cluster's name, so metadata.name must
// equal spec.clusterName. Created with defaults when absent and owned by the
// Cluster.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=mg,categories=cluster-api
// +kubebuilder:printcolumn:name="Cluster",type=string,JSONPath=`.spec.clusterName`
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="Machines",type=integer,JSONPath=`.status.replicas`,description="Control-plane Machines, deleting ones included"
// +kubebuilder:printcolumn:name="Member-Ready",type=integer,JSONPath=`.status.memberReadyReplicas`,description="Control-plane Machines with a serving member in every pool"
// +kubebuilder:printcolumn:name="Blocking",type=string,JSONPath=`.status.conditions[?(@.type=="Blocking")].status`,description="A deleting control-plane Machine is held"
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,description="Whether the gate could observe the load balancer, and why not"
// +kubebuilder:printcolumn:name="LB",type=string,JSONPath=`.status.loadBalancer.provisioningStatus`,description="The load balancer's provisioning status",priority=10
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.conditions[?(@.type=="Blocking")].message`,description="What the gate waits for, or its state",priority=10
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
