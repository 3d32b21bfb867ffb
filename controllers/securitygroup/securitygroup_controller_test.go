package securitygroup

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	infrav1 "sigs.k8s.io/cluster-api-provider-openstack/api/v1beta1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/membergate/membergate/api/v1alpha1"
)

func enforce() *v1alpha1.SecurityGroupsSpec {
	return &v1alpha1.SecurityGroupsSpec{Mode: v1alpha1.SecurityGroupsEnforce}
}

// Enforce opens the members' protocol and monitor ports from the member
// subnet on the control-plane ports' first group and the NodePort range on
// the workers', once; repairs a rule deleted by hand; removes what the
// policy stops holding; never touches a rule of someone else.
func TestSecurityGroupsEnforce(t *testing.T) {
	sg := enforce()
	sg.Workers = true
	w := newWorld(t, options{machines: 2, workers: 1, cpGroups: []string{"cp", "default"}, sg: sg})
	// The monitor checks another port than the one serving: both open.
	port := 9443
	_, err := pools.UpdateMember(w.ctx, w.octa.ServiceClient(), w.poolID, w.members[0], pools.UpdateMemberOpts{MonitorPort: &port}).Extract()
	w.g.Expect(err).NotTo(HaveOccurred())
	w.clk.Step(2 * time.Second)
	ssh, err := rules.Create(w.ctx, w.neutron.ServiceClient(), rules.CreateOpts{SecGroupID: w.cp, Direction: "ingress", EtherType: "IPv4",
		Protocol: "tcp", PortRangeMin: 22, PortRangeMax: 22, RemoteIPPrefix: "192.0.2.0/24", Description: "operator: ssh"}).Extract()
	w.g.Expect(err).NotTo(HaveOccurred())
	// An operator's wider rule on the ports' other group admits the
	// monitor port already: nothing to add for it.
	_, err = rules.Create(w.ctx, w.neutron.ServiceClient(), rules.CreateOpts{SecGroupID: w.def, Direction: "ingress", EtherType: "IPv4",
		Protocol: "tcp", PortRangeMin: 9000, PortRangeMax: 9999, RemoteIPPrefix: "10.0.0.0/8", Description: "operator: monitoring"}).Extract()
	w.g.Expect(err).NotTo(HaveOccurred())

	w.reconcile()
	var got []string
	for _, r := range append(w.ours(w.cp), w.ours(w.worker)...) {
		w.g.Expect(r.RemoteIPPrefix).To(Equal("10.6.0.0/24"), "wider than the member subnet: %+v", r)
		w.g.Expect(r.Direction + r.Protocol + r.EtherType).To(Equal("ingresstcpIPv4"))
		got = append(got, r.SecGroupID+" "+portRange(r))
	}
	w.g.Expect(got).To(ConsistOf(w.cp+" 6443", w.worker+" 30000-32767"))
	w.g.Expect(w.ours(w.def)).To(BeEmpty(), "a port needs its rule on one of its groups, not all")
	mg := w.memberGate()
	w.g.Expect(controllerutil.ContainsFinalizer(mg, v1alpha1.SecurityGroupsFinalizer)).To(BeTrue())
	w.g.Expect(mg.Status.SecurityGroups.OwnedRules).To(HaveLen(2))
	w.g.Expect(mg.Status.SecurityGroups.Groups).To(ContainElement(v1alpha1.GuardedGroup{ID: w.cp, Machines: []string{"cp-0", "cp-1"}, Ports: []string{"6443", "9443"}}))
	w.g.Expect(mg.Status.SecurityGroups.Sources).To(Equal([]string{"10.6.0.0/24"}))
	cond := w.sgCondition()
	w.g.Expect(cond.Status).To(Equal(metav1.ConditionTrue), "%+v", cond)
	w.g.Expect(cond.Reason).To(Equal(ReasonSynced))
	evs := strings.Join(w.events(), "\n")
	w.g.Expect(strings.Count(evs, "SecurityGroupRuleAdded")).To(Equal(2), evs)
	w.g.Expect(evs).To(ContainSubstring("added ingress tcp port 6443 from 10.6.0.0/24 to group " + w.cp + " (guarding cp-0, cp-1)"))

	// Idempotent: a reconcile before the interval asks Neutron nothing; one
	// after it reads the ports and the rules, one request each, and writes
	// nothing.
	before := w.neutron.Requests()
	w.reconcile()
	w.g.Expect(w.requestsSince(before)).To(BeEmpty())
	w.clk.Step(SecurityGroupInterval)
	w.reconcile()
	w.g.Expect(w.requestsSince(before)).To(Equal(map[string]int{"GET /v2.0/ports": 1, "GET /v2.0/security-group-rules": 1}))
	w.g.Expect(w.events()).To(BeEmpty())

	// Drift: someone deletes our rule; the next pass puts it back.
	for _, r := range w.ours(w.cp) {
		if r.PortRangeMin == 6443 {
			w.g.Expect(rules.Delete(w.ctx, w.neutron.ServiceClient(), r.ID).ExtractErr()).To(Succeed())
		}
	}
	w.clk.Step(SecurityGroupInterval)
	w.reconcile()
	w.g.Expect(w.ours(w.cp)).To(HaveLen(1))
	w.g.Expect(strings.Join(w.events(), "\n")).To(ContainSubstring("added ingress tcp port 6443"))

	// The policy no longer holds the workers' range: our rule goes.
	w.setSG(enforce())
	w.reconcile()
	w.g.Expect(w.ours(w.worker)).To(BeEmpty())
	w.g.Expect(strings.Join(w.events(), "\n")).To(ContainSubstring("removed ingress tcp ports 30000-32767 from 10.6.0.0/24 from group " + w.worker))
	w.g.Expect(w.rules(w.cp)).To(ContainElement(HaveField("ID", ssh.ID)), "the operator's rule was touched")
}

// Audit, the default, computes the same changes and makes none: not one
// rule is written, the condition says what Enforce would do, once.
func TestSecurityGroupsAuditChangesNothing(t *testing.T) {
	w := newWorld(t, options{machines: 2, cpGroups: []string{"default"}})
	for i := 0; i < 3; i++ {
		w.reconcile()
		w.clk.Step(SecurityGroupInterval)
	}
	w.g.Expect(w.ruleWrites()).To(BeZero())
	cond := w.sgCondition()
	w.g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
	w.g.Expect(cond.Reason).To(Equal(ReasonWouldChange))
	w.g.Expect(cond.Message).To(ContainSubstring("would add ingress tcp port 6443 from 10.6.0.0/24 to group " + w.def + " (guarding cp-0, cp-1)"))
	w.g.Expect(cond.Message).To(ContainSubstring("set spec.securityGroups.mode: Enforce"))
	w.g.Expect(w.memberGate().Finalizers).To(BeEmpty())
	w.g.Expect(strings.Count(strings.Join(w.events(), "\n"), "SecurityGroupsAudit")).To(Equal(1), "the same report repeated")
}

// The policy never opens more than it says: 0.0.0.0/0 only with
// allowAnywhere, even when the webhook was bypassed.
func TestSecurityGroupsRefuseAnywhere(t *testing.T) {
	sg := enforce()
	sg.Sources = []string{"0.0.0.0/0"}
	w := newWorld(t, options{machines: 1, cpGroups: []string{"cp"}, sg: sg})
	w.reconcile()
	w.g.Expect(w.ruleWrites()).To(BeZero())
	cond := w.sgCondition()
	w.g.Expect(cond.Reason).To(Equal(ReasonSourceRefused))
	w.g.Expect(cond.Message).To(ContainSubstring("refusing source 0.0.0.0/0"))

	sg.AllowAnywhere = true
	w.setSG(sg)
	w.reconcile()
	w.g.Expect(w.ours(w.cp)).To(ConsistOf(And(HaveField("RemoteIPPrefix", "0.0.0.0/0"), HaveField("PortRangeMin", 6443))))
	w.g.Expect(w.sgCondition().Reason).To(Equal(ReasonSynced))
}

// IPv6 members reached from an IPv6 subnet get IPv6 rules.
func TestSecurityGroupsIPv6(t *testing.T) {
	w := newWorld(t, options{cidr: "fd00:6::/64", machines: 2, cpGroups: []string{"cp"}, sg: enforce()})
	w.reconcile()
	ours := w.ours(w.cp)
	w.g.Expect(ours).To(HaveLen(1))
	w.g.Expect(ours[0].EtherType).To(Equal("IPv6"))
	w.g.Expect(ours[0].RemoteIPPrefix).To(Equal("fd00:6::/64"))
	w.g.Expect(ours[0].PortRangeMin).To(Equal(6443))
	w.g.Expect(w.sgCondition().Reason).To(Equal(ReasonSynced))
}

// A subnet CIDR that Neutron reports is a cloud's word, not a person's
// choice: one wider than the manager admits (0.0.0.0/1 is half the
// internet) or a public one is reported and never opened. A person may
// still list a public source, or set allowAnywhere.
func TestSecurityGroupsRefuseWideOrPublicDerivedSources(t *testing.T) {
	for _, c := range []struct{ cidr, why string }{
		{"0.0.0.0/1", "wider than /8"},
		{"203.0.113.0/24", "not a private range"},
		{"2001:db8:6::/64", "not a private range"},
	} {
		t.Run(c.cidr, func(t *testing.T) {
			w := newWorld(t, options{cidr: c.cidr, machines: 1, cpGroups: []string{"cp"}, sg: enforce()})
			w.reconcile()
			w.g.Expect(w.ruleWrites()).To(BeZero())
			cond := w.sgCondition()
			w.g.Expect(cond.Reason).To(Equal(ReasonSourceRefused))
			w.g.Expect(cond.Message).To(And(ContainSubstring("refusing subnet CIDR "+c.cidr), ContainSubstring(c.why)))

			sg := enforce()
			sg.Sources = []string{c.cidr}
			if c.why != "not a private range" {
				sg.AllowAnywhere = true
			}
			w.setSG(sg)
			w.reconcile()
			w.g.Expect(w.ours(w.cp)).To(ConsistOf(HaveField("RemoteIPPrefix", c.cidr)), "a source a person chose")
			w.g.Expect(w.sgCondition().Reason).To(Equal(ReasonSynced))
		})
	}
}

// Disabled and deletion remove our rules and only ours; with the Cluster
// gone, the identity the status recorded still reaches them.
func TestSecurityGroupsCleanup(t *testing.T) {
	w := newWorld(t, options{machines: 1, cpGroups: []string{"cp"}, sg: enforce()})
	foreign, err := rules.Create(w.ctx, w.neutron.ServiceClient(), rules.CreateOpts{SecGroupID: w.cp, Direction: "ingress", EtherType: "IPv4",
		Protocol: "tcp", PortRangeMin: 10250, PortRangeMax: 10250, RemoteIPPrefix: "10.6.0.0/24", Description: "membergate other/prod: not ours"}).Extract()
	w.g.Expect(err).NotTo(HaveOccurred())
	w.reconcile()
	w.g.Expect(w.ours(w.cp)).To(HaveLen(1))

	w.setSG(&v1alpha1.SecurityGroupsSpec{Mode: v1alpha1.SecurityGroupsDisabled})
	w.reconcile()
	w.g.Expect(w.ours(w.cp)).To(BeEmpty())
	w.g.Expect(w.rules(w.cp)).To(ContainElement(HaveField("ID", foreign.ID)))
	w.g.Expect(w.memberGate().Finalizers).To(BeEmpty())
	w.g.Expect(w.sgCondition().Reason).To(Equal(ReasonDisabled))
	// Disabled with nothing left: no request at all.
	before := w.neutron.Requests()
	w.clk.Step(SecurityGroupInterval)
	w.reconcile()
	w.g.Expect(w.requestsSince(before)).To(BeEmpty())

	w.setSG(enforce())
	w.reconcile()
	w.g.Expect(w.ours(w.cp)).To(HaveLen(1))
	w.g.Expect(k8sClient.Delete(w.ctx, w.cluster)).To(Succeed())
	w.reconcile()
	w.g.Expect(w.ours(w.cp)).To(BeEmpty(), "rules left after the cluster's deletion")
	w.g.Expect(w.rules(w.cp)).To(ContainElement(HaveField("ID", foreign.ID)))
	w.g.Expect(w.memberGate().Finalizers).To(BeEmpty())

	// The Cluster and its OpenStackCluster vanish before a reconcile sees
	// them deleting: the MemberGate, kept by the finalizer, still leads to
	// the rules.
	gone := newWorld(t, options{machines: 1, cpGroups: []string{"cp"}, sg: enforce()})
	gone.reconcile()
	gone.g.Expect(gone.ours(gone.cp)).To(HaveLen(1))
	gone.removeCluster()
	gone.reconcile()
	gone.g.Expect(gone.ours(gone.cp)).To(BeEmpty())
	gone.g.Expect(gone.memberGate().Finalizers).To(BeEmpty())
}

// The rules a cluster's enforcement creates are the rules its cleanup
// removes, whatever the MemberGate's spec.clusterName says: the controller
// reads the MemberGate named after the Cluster, and an old one (made before
// the API required the two names to agree) may name another cluster there.
// Once the Cluster is gone, only the MemberGate leads to the rules.
func TestSecurityGroupsCleanupFindsTheClustersRules(t *testing.T) {
	w := newWorld(t, options{machines: 1, cpGroups: []string{"cp"}, sg: enforce()})
	w.r.APIReader = misnamedReader{k8sClient}
	w.reconcile()
	w.g.Expect(w.ours(w.cp)).To(HaveLen(1))

	w.removeCluster()
	w.reconcile()
	w.g.Expect(w.ours(w.cp)).To(BeEmpty(), "the cleanup missed the cluster's rules")
	w.g.Expect(w.memberGate().Finalizers).To(BeEmpty())
}

// misnamedReader shows every MemberGate as one whose spec.clusterName is
// not its name: the API server now refuses to create such a MemberGate,
// but one made before it may still be there.
type misnamedReader struct{ client.Reader }

func (r misnamedReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	err := r.Reader.Get(ctx, key, obj, opts...)
	if mg, ok := obj.(*v1alpha1.MemberGate); ok && err == nil {
		mg.Spec.ClusterName = key.Name + "-named-otherwise"
	}
	return err
}

// removeCluster deletes the Cluster (its test finalizer dropped) and its
// OpenStackCluster: only the MemberGate is left to lead to the rules.
func (w *world) removeCluster() {
	cl := w.cluster.DeepCopy()
	w.g.Expect(k8sClient.Get(w.ctx, clientKey(cl), cl)).To(Succeed())
	cl.Finalizers = nil
	w.g.Expect(k8sClient.Update(w.ctx, cl)).To(Succeed())
	w.g.Expect(k8sClient.Delete(w.ctx, cl)).To(Succeed())
	w.g.Expect(k8sClient.DeleteAllOf(w.ctx, &infrav1.OpenStackCluster{}, client.InNamespace(w.ns))).To(Succeed())
}
