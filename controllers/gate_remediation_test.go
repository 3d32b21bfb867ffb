package controllers

import (
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	infrav1 "sigs.k8s.io/cluster-api-provider-openstack/api/v1beta1"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/internal/cloud/scope"
	"github.com/membergate/membergate/pkg/gate/remediate"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
)

// setRemediation sets the MemberGate's spec.remediation.
func (w *world) setRemediation(r v1alpha1.MemberRemediation) {
	mg := w.memberGate()
	mg.Spec.Remediation = r
	w.g.Expect(k8sClient.Update(w.ctx, mg)).To(Succeed())
}

// replacementInError starts a rollout whose new Machine cp-n gets a member
// Octavia fails to provision, and deletes cp-0; it returns the member's ID.
func (w *world) replacementInError(n int) (*infrav1.OpenStackMachine, string) {
	w.octa.ScriptMembers(octaviatest.MemberMatch{Address: addr(n)}, octaviatest.MemberScript{
		Provisioning: []octaviatest.Step{{Status: "PENDING_CREATE"}, {After: 5 * time.Second, Status: "ERROR"}}})
	osm := &infrav1.OpenStackMachine{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: fmt.Sprintf("cp-%d", n)},
		Spec: infrav1.OpenStackMachineSpec{Flavor: ptr.To("m1.medium"), Image: infrav1.ImageParam{Filter: &infrav1.ImageFilter{Name: ptr.To("ubuntu")}}}}
	w.g.Expect(k8sClient.Create(w.ctx, osm)).To(Succeed())
	w.addMachine(n)
	id := w.addMember(n)
	w.deleteMachine(0)
	return osm, id
}

func (w *world) memberExists(id string) bool {
	_, ok := w.octa.Member(id)
	return ok
}

// With remediation: Recreate, a replacement's member in provisioning ERROR
// is deleted, CAPO is asked (through its OpenStackMachine) to create it
// again, and once the new member serves the old Machine goes — with the
// manager's own RBAC, and the old Machine held throughout.
func TestRemediationRecreatesAMemberInError(t *testing.T) {
	w := newWorld(t, 3)
	mc := managerClient(t, w)
	w.r.Client, w.r.APIReader = mc, mc
	w.r.Sources = &scope.SecretSources{Client: mc, Budget: w.r.Sources.(*scope.SecretSources).Budget}
	w.reconcile()
	w.setRemediation(v1alpha1.RemediationRecreate)
	osm, bad := w.replacementInError(3)

	w.run(time.Minute, func() bool { return !w.memberExists(bad) })
	w.g.Expect(w.hasHook(0)).To(BeTrue(), "cp-0 released while its replacement's member was in ERROR")
	w.g.Expect(w.countEvents(remediate.EventRecreating)).To(Equal(1))

	// Gone: CAPO's OpenStackMachine is poked so that it creates the member
	// at once.
	w.run(2*time.Minute, func() bool {
		w.g.Expect(k8sClient.Get(w.ctx, clientKey(osm), osm)).To(Succeed())
		return osm.Annotations[v1alpha1.RecreateMemberAnnotation] != ""
	})
	st := w.memberGate().Status.Remediation
	w.g.Expect(st).NotTo(BeNil())
	w.g.Expect(st.Attempts).To(ConsistOf(And(HaveField("Phase", string(remediate.Recreating)), HaveField("MemberID", bad), HaveField("Machine", "cp-3"))))
	w.g.Expect(w.hasHook(0)).To(BeTrue())

	// CAPO creates it again, and this time Octavia provisions it.
	w.octa.ScriptMembers(octaviatest.MemberMatch{Address: addr(3)}, octaviatest.MemberScript{
		Provisioning: []octaviatest.Step{{Status: "PENDING_CREATE"}, {After: 5 * time.Second, Status: "ACTIVE"}},
		Operating:    []octaviatest.Step{{Status: "OFFLINE"}, {After: 15 * time.Second, Status: "ONLINE"}}})
	good := w.addMember(3)
	w.run(5*time.Minute, func() bool { return !w.hasHook(0) })
	w.g.Expect(w.countEvents(remediate.EventRecreated)).To(Equal(1))
	st = w.memberGate().Status.Remediation
	w.g.Expect(st.Attempts).To(ConsistOf(And(HaveField("Phase", string(remediate.Recreated)), HaveField("NewMemberID", good))))
	w.g.Expect(w.memberExists(good)).To(BeTrue(), "the recreated member was touched")
}

// Without the policy (the default), a member in ERROR is left alone and
// the rollout held: the remedy stays a person's.
func TestRemediationIsOffByDefault(t *testing.T) {
	w := newWorld(t, 3)
	w.reconcile()
	_, bad := w.replacementInError(3)
	w.clk.Step(10 * time.Minute)
	for range 5 {
		w.reconcile()
		w.clk.Step(time.Minute)
	}
	w.g.Expect(w.memberExists(bad)).To(BeTrue())
	w.g.Expect(w.hasHook(0)).To(BeTrue())
	w.g.Expect(w.memberGate().Status.Remediation).To(BeNil())
	w.g.Expect(w.countEvents(remediate.EventRecreating)).To(BeZero())
}

// Two members in ERROR at once is the cloud's fault: none is touched, and
// the MemberGate says why.
func TestRemediationSuspendsWhenSeveralMembersAreInError(t *testing.T) {
	w := newWorld(t, 3)
	w.reconcile()
	w.setRemediation(v1alpha1.RemediationRecreate)
	_, bad := w.replacementInError(3)
	w.g.Expect(w.octa.SetMemberStatus(w.memberIDOf(1), "ERROR", "")).To(Succeed())
	w.clk.Step(10 * time.Second)
	w.reconcile()
	w.clk.Step(time.Minute)
	w.reconcile()
	w.g.Expect(w.memberExists(bad)).To(BeTrue())
	w.g.Expect(w.memberGate().Status.Remediation).NotTo(BeNil())
	w.g.Expect(w.memberGate().Status.Remediation.Suspended).To(ContainSubstring("2 members"))
	w.g.Expect(w.countEvents(remediate.EventSuspended)).To(Equal(1))
	w.g.Expect(w.hasHook(0)).To(BeTrue())
}

// memberIDOf is the ID of cp-i's member.
func (w *world) memberIDOf(i int) string {
	p, ok := w.octa.Pool(w.poolID)
	w.g.Expect(ok).To(BeTrue())
	for _, m := range p.Members {
		if mem, ok := w.octa.Member(m.ID); ok && mem.Address == addr(i) {
			return m.ID
		}
	}
	w.t.Fatalf("no member for cp-%d", i)
	return ""
}
