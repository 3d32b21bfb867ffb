package securitygroup

import (
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	infrav1 "sigs.k8s.io/cluster-api-provider-openstack/api/v1beta1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/internal/testenv"
	"github.com/membergate/membergate/pkg/neutrontest"
)

// addTenant adds a second tenant's cluster, "test" in namespace ns, to the
// world's management cluster: its own identity Secret reaching the same
// Keystone and Octavia, but Neutron at neutronURL (the clouds.yaml's
// network_endpoint_override, which a tenant chooses), and an
// OpenStackCluster naming the world's load balancer. Its Enforce pass runs
// through the world's reconcilers, as one manager serves every tenant.
func (w *world) addTenant(ns, neutronURL string) types.NamespacedName {
	w.g.Expect(k8sClient.Create(w.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	w.g.Expect(k8sClient.Create(w.ctx, testenv.IdentitySecret(ns, testenv.CloudsYAML(w.octa.KeystoneURL(), neutronURL)))).To(Succeed())
	osc := &infrav1.OpenStackCluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "test"},
		Spec: infrav1.OpenStackClusterSpec{IdentityRef: infrav1.OpenStackIdentityReference{Name: testenv.IdentitySecretName, CloudName: testenv.CloudName}}}
	w.g.Expect(k8sClient.Create(w.ctx, osc)).To(Succeed())
	osc.Status.APIServerLoadBalancer = &infrav1.LoadBalancer{Name: lbName, ID: w.lbID}
	w.g.Expect(k8sClient.Status().Update(w.ctx, osc)).To(Succeed())
	w.g.Expect(k8sClient.Create(w.ctx, &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "test"},
		Spec: clusterv1.ClusterSpec{
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.SchemeGroupVersion.Group, Kind: "OpenStackCluster", Name: "test"},
			ControlPlaneRef:   clusterv1.ContractVersionedObjectReference{APIGroup: "controlplane.cluster.x-k8s.io", Kind: "KubeadmControlPlane", Name: "test"},
		}})).To(Succeed())
	w.g.Expect(k8sClient.Create(w.ctx, &v1alpha1.MemberGate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "test"},
		Spec: v1alpha1.MemberGateSpec{ClusterName: "test", Mode: v1alpha1.ModeAudit, SecurityGroups: enforce()}})).To(Succeed())
	return types.NamespacedName{Namespace: ns, Name: "test"}
}

// Tenant B's Neutron reports tenant A's subnet (same ID) with a CIDR of B's
// choosing. B's pass reads it first; A's pass, through the same manager,
// must still open A's ports only to A's subnet as A's own Neutron reports
// it. Keyed by the cloud's Octavia and the subnet ID, the CIDR cache served
// A what B's Neutron said.
func TestSecurityGroupsTenantsShareNoNeutronAnswers(t *testing.T) {
	w := newWorld(t, options{machines: 2, cpGroups: []string{"cp"}, sg: enforce()})
	hostile := neutrontest.NewServer()
	t.Cleanup(hostile.Close)
	_, lies := hostile.AddNetwork("lies", "10.99.0.0/16")
	w.g.Expect(lies[0]).To(Equal(w.subnet), "the premise: B's Neutron answers for A's subnet ID")
	b := w.addTenant(w.ns+"-b", hostile.URL)

	_, err := w.r.Reconcile(w.ctx, ctrl.Request{NamespacedName: b})
	w.g.Expect(err).NotTo(HaveOccurred())
	w.g.Expect(hostile.Requests()).To(HaveKeyWithValue("GET /v2.0/subnets", 1), "B's pass read the subnet from B's Neutron")

	w.reconcile()
	ours := w.ours(w.cp)
	w.g.Expect(ours).NotTo(BeEmpty())
	for _, r := range ours {
		w.g.Expect(r.RemoteIPPrefix).To(Equal("10.6.0.0/24"), "A's rule admits what B's Neutron said: %+v", r)
	}
	w.g.Expect(w.memberGate().Status.SecurityGroups.Sources).To(Equal([]string{"10.6.0.0/24"}))
}

// With credentials that see other projects (an admin's) and overlapping
// private ranges, another project's port can hold a Machine's address.
// Ports are looked for in the cluster's project and network only: a
// Machine whose own port is not found gets a problem, never a rule on the
// other project's group.
func TestSecurityGroupsOnlyTouchTheClustersPorts(t *testing.T) {
	w := newWorld(t, options{machines: 1, cpGroups: []string{"cp"}, sg: enforce()})
	otherNet, otherSubnets := w.neutron.AddNetwork("theirs", "10.6.0.0/24")
	other := w.newGroup("theirs")
	port := w.neutron.AddPort("theirs", otherSubnets[0], "10.6.0.99", other)
	for _, id := range []string{otherNet, otherSubnets[0], other, port} {
		w.neutron.SetProject(id, "0ther0ther0ther0ther0ther0ther00")
	}
	// A Machine of the cluster whose own port does not exist (yet).
	w.addNode("cp-9", "cp-9", "10.6.0.99", true)

	w.reconcile()
	w.g.Expect(w.ours(other)).To(BeEmpty(), "a rule landed on another project's group")
	w.g.Expect(w.ours(w.cp)).NotTo(BeEmpty(), "the cluster's own port still gets its rule")
	w.g.Expect(w.memberGate().Status.SecurityGroups.Problems).To(ContainElement(ContainSubstring("no Neutron port holds an address of cp-9 (10.6.0.99)")))
}

// A port of the cluster's project may carry a group of another project (an
// admin can attach one): membergate says so and leaves that group alone.
func TestSecurityGroupsNeverChangeAnotherProjectsGroup(t *testing.T) {
	w := newWorld(t, options{machines: 1, cpGroups: []string{"cp"}, sg: enforce()})
	w.neutron.SetProject(w.cp, "0ther0ther0ther0ther0ther0ther00")

	w.reconcile()
	w.g.Expect(w.ours(w.cp)).To(BeEmpty(), "a rule landed on another project's group")
	w.g.Expect(w.memberGate().Status.SecurityGroups.Problems).To(ContainElement(And(
		ContainSubstring("group "+w.cp), ContainSubstring("belongs to project 0ther0ther0ther0ther0ther0ther00"),
		ContainSubstring("never changes another project's group"))))
}

// Two management clusters whose workload clusters share a project (and, as
// often, their namespace and name): each one's enforcement owns only its
// own rules. B disabling enforcement for its "test" leaves A's rule.
func TestSecurityGroupsTwoManagementClustersKeepTheirRules(t *testing.T) {
	w := newWorld(t, options{machines: 1, cpGroups: []string{"cp"}, sg: enforce()})
	w.r.ManagementCluster = "mgmt-a"
	w.reconcile()
	aRules := w.ours(w.cp)
	w.g.Expect(aRules).To(HaveLen(1))
	w.g.Expect(aRules[0].Description).To(HavePrefix("membergate " + w.ns + "/test@mgmt-a:"))

	// B: another manager, the same cluster name, enforcement off.
	_, b := w.reconcilers()
	b.ManagementCluster = "mgmt-b"
	sg := enforce()
	sg.Mode = v1alpha1.SecurityGroupsDisabled
	w.setSG(sg)
	_, err := b.Reconcile(w.ctx, ctrl.Request{NamespacedName: types.NamespacedName{Namespace: w.ns, Name: "test"}})
	w.g.Expect(err).NotTo(HaveOccurred())
	w.g.Expect(w.ours(w.cp)).To(ConsistOf(HaveField("ID", aRules[0].ID)), "B deleted A's rule")
}

// Rules marked before the management cluster was part of the mark are
// replaced, in one pass, by rules with today's mark.
func TestSecurityGroupsReplaceLegacyMarks(t *testing.T) {
	w := newWorld(t, options{machines: 1, cpGroups: []string{"cp"}, sg: enforce()})
	w.reconcile()
	legacy := w.ours(w.cp)
	w.g.Expect(legacy).To(HaveLen(1))
	w.g.Expect(legacy[0].Description).To(HavePrefix("membergate " + w.ns + "/test:"))

	w.r.ManagementCluster = "mgmt-a"
	w.clk.Step(SecurityGroupInterval)
	w.reconcile()
	now := w.ours(w.cp)
	w.g.Expect(now).To(HaveLen(1))
	w.g.Expect(now[0].ID).NotTo(Equal(legacy[0].ID))
	w.g.Expect(now[0].Description).To(HavePrefix("membergate " + w.ns + "/test@mgmt-a:"))
	w.g.Expect(w.memberGate().Status.SecurityGroups.OwnedRules).To(HaveLen(1))
}

// Another controller adds its finalizer after our reconcile read the
// MemberGate: releasing ours from that stale copy must not drop theirs.
func TestSecurityGroupsFinalizerPatchKeepsOthersFinalizers(t *testing.T) {
	w := newWorld(t, options{machines: 1, cpGroups: []string{"cp"}, sg: enforce()})
	w.reconcile()
	stale := w.memberGate()
	w.g.Expect(stale.Finalizers).To(ContainElement(v1alpha1.SecurityGroupsFinalizer))

	fresh := stale.DeepCopy()
	fresh.Finalizers = append(fresh.Finalizers, "other.example.com/keep")
	w.g.Expect(k8sClient.Update(w.ctx, fresh)).To(Succeed())

	err := w.r.releaseFinalizer(w.ctx, stale, &outcome{dropFinalizer: true})
	w.g.Expect(apierrors.IsConflict(err)).To(BeTrue(), "got %v", err)
	w.g.Expect(w.memberGate().Finalizers).To(ContainElement("other.example.com/keep"))
}
