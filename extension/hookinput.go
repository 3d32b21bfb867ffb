package extension

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/pkg/gate"
)

// HookInput turns a MemberGate (its policy and the controller's last
// observation in its status) into the gate's hook input.
func HookInput(hook gate.Hook, now time.Time, mg *v1alpha1.MemberGate) gate.HookInput {
	s := &mg.Status
	in := gate.HookInput{Hook: hook, Now: now, Mode: gate.Mode(mg.Spec.Mode)}
	if in.Mode == "" {
		in.Mode = gate.Enforce
	}
	if s.LastChecked != nil {
		in.ObservedAt = s.LastChecked.Time
	}
	// The statuses are empty when the load balancer was not found; while
	// Octavia cannot be read they are the last good ones and the Ready
	// condition says why, which the gate reads first.
	lb := s.LoadBalancer
	in.LoadBalancer = gate.HookLoadBalancer{ID: lb.ID, ProvisioningStatus: lb.ProvisioningStatus, OperatingStatus: lb.OperatingStatus}
	if c := meta.FindStatusCondition(s.Conditions, v1alpha1.ReadyCondition); c != nil && c.Status == metav1.ConditionFalse {
		in.LoadBalancer.Unavailable = c.Message
	}
	for _, row := range s.Machines {
		m := gate.HookMachine{Name: row.Name, Deleting: row.Deleting, MemberReady: row.MemberReady, Reason: row.Reason}
		for _, mem := range row.Members {
			m.Members = append(m.Members, hookMember(mem))
		}
		in.Machines = append(in.Machines, m)
	}
	for _, o := range s.Orphans {
		in.Orphans = append(in.Orphans, hookMember(o))
	}
	return in
}

func hookMember(m v1alpha1.Member) gate.HookMember {
	hm := gate.HookMember{PoolID: m.PoolID, ID: m.ID, Address: m.Address, Port: m.ProtocolPort,
		ProvisioningStatus: m.ProvisioningStatus, OperatingStatus: m.OperatingStatus, Serving: m.Serving, Message: m.Message}
	if m.Since != nil {
		hm.Since = m.Since.Time
	}
	return hm
}
