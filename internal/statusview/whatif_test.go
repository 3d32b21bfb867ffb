package statusview

import (
	"bytes"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/pkg/gate"
)

var now = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// observed is a MemberGate whose last observation, 10 s ago, saw a member
// per Machine in pool p, serving or not, and the Machines with Nodes and
// the gate's hook.
func observed(serving map[string]bool) (*v1alpha1.MemberGate, []clusterv1.Machine) {
	at := metav1.NewTime(now.Add(-10 * time.Second))
	mg := &v1alpha1.MemberGate{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c"}, Spec: v1alpha1.MemberGateSpec{ClusterName: "c"},
		Status: v1alpha1.MemberGateStatus{LastChecked: &at, LoadBalancer: v1alpha1.LoadBalancerStatus{ID: "lb", ProvisioningStatus: "ACTIVE", OperatingStatus: "ONLINE"}}}
	var machines []clusterv1.Machine
	for _, name := range []string{"a", "b", "c"} {
		m := clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{v1alpha1.PreDrainHookAnnotation: v1alpha1.HookOwner}}}
		m.Status.NodeRef.Name = name
		machines = append(machines, m)
		mem := v1alpha1.Member{PoolID: "p", ID: "m-" + name, Address: "10.0.0.1", ProtocolPort: 6443,
			ProvisioningStatus: "PENDING_CREATE", OperatingStatus: "OFFLINE", Message: "member PENDING_CREATE/OFFLINE"}
		if serving[name] {
			mem.ProvisioningStatus, mem.OperatingStatus, mem.Serving = "ACTIVE", "ONLINE", true
		}
		mg.Status.Machines = append(mg.Status.Machines, v1alpha1.MachineMembers{Name: name, Members: []v1alpha1.Member{mem}})
	}
	return mg, machines
}

// The answer follows the gate's rule in every mode and state it knows:
// the policy, a paused cluster, a Machine not yet hooked, an outage, a
// manual release set in advance.
func TestWhatIfDeleteFollowsTheGatesRule(t *testing.T) {
	all := map[string]bool{"a": true, "b": true, "c": true}
	for name, tc := range map[string]struct {
		serving map[string]bool
		change  func(*v1alpha1.MemberGate, *clusterv1.Cluster, []clusterv1.Machine)
		held    bool
		why     string
	}{
		"peers serve":     {serving: all, why: "would be released: 2 other control-plane Machine(s) serve: b, c"},
		"a peer does not": {serving: map[string]bool{"a": true, "b": true}, held: true, why: "waiting for c: pool p: member m-c (10.0.0.1:6443): member PENDING_CREATE/OFFLINE"},
		"audit never holds": {serving: map[string]bool{"a": true}, change: func(mg *v1alpha1.MemberGate, _ *clusterv1.Cluster, _ []clusterv1.Machine) {
			mg.Spec.Mode = v1alpha1.ModeAudit
		}, why: "would be released: the gate is in Audit mode"},
		"min serving members": {serving: all, change: func(mg *v1alpha1.MemberGate, _ *clusterv1.Cluster, _ []clusterv1.Machine) {
			mg.Spec.MinServingMembers = ptr.To[int32](3)
		}, held: true, why: "only 2 other control-plane Machine(s) serve, 3 required"},
		"paused": {serving: all, change: func(_ *v1alpha1.MemberGate, c *clusterv1.Cluster, _ []clusterv1.Machine) {
			c.Spec.Paused = ptr.To(true)
		}, held: true, why: "the cluster is paused"},
		"not hooked yet": {serving: map[string]bool{"a": true}, change: func(_ *v1alpha1.MemberGate, _ *clusterv1.Cluster, ms []clusterv1.Machine) { ms[0].Annotations = nil },
			why: "it carries no pre-drain hook of the gate yet"},
		"octavia unreadable": {serving: all, change: func(mg *v1alpha1.MemberGate, _ *clusterv1.Cluster, _ []clusterv1.Machine) {
			mg.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ReadyCondition, Status: metav1.ConditionFalse, Reason: gate.ReasonOctaviaUnavailable,
				Message: "503", LastTransitionTime: metav1.NewTime(now.Add(-time.Hour))}}
		}, held: true, why: "b: Octavia could not be read since 2026-11-21T11:00:00Z"},
		"released by hand in advance": {serving: map[string]bool{"a": true}, change: func(_ *v1alpha1.MemberGate, _ *clusterv1.Cluster, ms []clusterv1.Machine) {
			ms[0].Annotations[v1alpha1.ReleaseAnnotation] = "me: template"
		}, held: true, why: "waiting for b"},
	} {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			mg, machines := observed(tc.serving)
			cluster := &clusterv1.Cluster{}
			if tc.change != nil {
				tc.change(mg, cluster, machines)
			}
			w, err := WhatIfDelete(mg, cluster, machines, "a", now)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(w.Held).To(Equal(tc.held), w.Why)
			g.Expect(w.Why).To(ContainSubstring(tc.why))
			g.Expect(w.Stale).To(BeEmpty())
		})
	}
}

// A column no row has a value for is left out; a Machine without members
// gets a row that says so.
func TestWriteMachinesLeavesOutEmptyColumns(t *testing.T) {
	g := NewWithT(t)
	var b bytes.Buffer
	g.Expect(WriteMachines(&b, []Machine{
		{Name: "a", Hooked: true, Members: []Member{{ProvisioningStatus: "ACTIVE", OperatingStatus: "ONLINE", Serving: true}}},
		{Name: "b"},
	}, nil, time.Time{})).To(Succeed())
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	g.Expect(lines).To(HaveLen(3))
	g.Expect(strings.Fields(lines[0])).To(Equal([]string{"MACHINE", "HOOK", "MEMBER", "STATUSES", "SERVING", "GATE"}))
	g.Expect(strings.Fields(lines[1])).To(Equal([]string{"a", "hook", "-", "ACTIVE/ONLINE", "yes", "-"}))
	g.Expect(strings.Fields(lines[2])).To(Equal([]string{"b", "-", "none", "-", "no", "-", "(not", "observed", "yet)"}))
}
