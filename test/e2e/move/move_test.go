package move

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"
	clusterctl "sigs.k8s.io/cluster-api/cmd/clusterctl/client"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/test/e2e/inprocess/harness"
	"github.com/membergate/membergate/test/manifests"
)

const (
	replicas = 3
	// settleWindow is short so that the release at the end comes soon.
	settleWindow = 2 * time.Second
)

// A control plane held mid-rollout is moved with clusterctl's own client
// from one management cluster to another, sharing one cloud:
//
//   - the MemberGate goes with it (spec whole; its status, the gate's memory,
//     does not: clusterctl creates objects without their status);
//   - every Machine keeps the gate's pre-drain hook;
//   - the source's gate does nothing while clusterctl has the Cluster
//     paused: no hook released, no status written, no MemberGate created;
//   - the target's gate, which never saw the hold, re-observes the members
//     and holds the outdated Machine when the rollout deletes it again, and
//     lets it go only once the new member serves.
//
// The target runs the gate only: no CAPI controllers (their in-memory
// machines live in the source's process). Where the target's CAPI would act,
// the test does it, as CAPI would: it restores the Machines' status (the
// Machine controller reads it back from the workload cluster) and deletes the
// outdated Machine (KCP resumes the rollout where it was).
func TestMoveMidHold(t *testing.T) {
	g := NewWithT(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	src, err := harness.Start(harness.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { g.Expect(src.Stop()).To(Succeed()) }()
	dst, err := startTarget()
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { g.Expect(dst.stop()).To(Succeed()) }()

	// What clusterctl init does to every provider's CRDs, and the
	// MemberGate CRD's labels as config/crd installs it.
	g.Expect(labelCRDsAsClusterctl(ctx, src.Client)).To(Succeed())

	c, err := src.CreateCluster(ctx, harness.ClusterSpec{Namespace: "move", Name: "cp", Replicas: replicas, SettleWindow: settleWindow})
	g.Expect(err).NotTo(HaveOccurred())
	// The identity Secret is no Cluster's: CAPO's docs have it labelled
	// for move.
	g.Expect(addLabel(ctx, src.Client, &corev1.Secret{}, client.ObjectKey{Namespace: c.Namespace, Name: c.Name + "-cloud-config"},
		clusterctlv1.ClusterctlMoveLabel)).To(Succeed())
	_, err = c.WaitStable(ctx, replicas)
	g.Expect(err).NotTo(HaveOccurred())

	// Mid-hold: the new member stays PENDING_CREATE, the first outdated
	// Machine is deleting and held.
	g.Expect(c.StartRollout(ctx, 1, harness.StuckPending())).To(Succeed())
	var held harness.MachineView
	var before harness.Snapshot
	g.Eventually(func() bool {
		if before, err = c.Snapshot(ctx); err != nil {
			return false
		}
		// clusterctl moves only once every Machine has its Node.
		var ms clusterv1.MachineList
		if err := src.Client.List(ctx, &ms, client.InNamespace(c.Namespace)); err != nil || len(ms.Items) != replicas+1 {
			return false
		}
		for _, m := range ms.Items {
			if !m.Status.NodeRef.IsDefined() {
				return false
			}
		}
		i := slices.IndexFunc(before.Machines, func(m harness.MachineView) bool { return m.Deleting && m.Held && m.Hooked })
		if i < 0 {
			return false
		}
		held = before.Machines[i]
		return true
	}).WithContext(ctx).WithTimeout(3*time.Minute).WithPolling(250*time.Millisecond).Should(BeTrue(), "no hold; last seen: %s", before)
	t.Logf("before the move: %s", before)
	var srcGate v1alpha1.MemberGate
	g.Expect(src.Client.Get(ctx, c.Key(), &srcGate)).To(Succeed())
	var srcMachines clusterv1.MachineList
	g.Expect(src.Client.List(ctx, &srcMachines, client.InNamespace(c.Namespace))).To(Succeed())

	// Everything the source's gate writes from here on is recorded.
	w, err := watchGateWrites(ctx, src.Config, c.Namespace)
	g.Expect(err).NotTo(HaveOccurred())
	defer w.Stop()

	kubeconfigs := t.TempDir()
	from, to := filepath.Join(kubeconfigs, "from"), filepath.Join(kubeconfigs, "to")
	g.Expect(writeKubeconfig(src.Config, from)).To(Succeed())
	g.Expect(writeKubeconfig(dst.config, to)).To(Succeed())
	cc, err := clusterctl.New(ctx, "")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cc.Move(ctx, clusterctl.MoveOptions{FromKubeconfig: clusterctl.Kubeconfig{Path: from},
		ToKubeconfig: clusterctl.Kubeconfig{Path: to}, Namespace: c.Namespace})).To(Succeed())

	// The source is empty and its gate did nothing while the Cluster was
	// paused.
	g.Expect(src.Client.Get(ctx, c.Key(), &clusterv1.Cluster{})).To(Satisfy(isNotFound), "the Cluster is still on the source")
	writes := w.Stop()
	g.Expect(writes.paused).To(BeTrue(), "clusterctl never paused the Cluster")
	g.Expect(writes.hookRemovals).To(BeEmpty(), "the source's gate released hooks during the move")
	g.Expect(writes.conditionChanges).To(BeEmpty(), "the source's gate changed Machines' conditions during the move")
	g.Expect(writes.gateStatusWrites).To(BeZero(), "the source's gate wrote the MemberGate status during the move")
	g.Expect(writes.gateCreations).To(BeZero(), "the source's gate created a MemberGate during the move")
	var left v1alpha1.MemberGateList
	g.Expect(src.Client.List(ctx, &left, client.InNamespace(c.Namespace))).To(Succeed())
	g.Expect(left.Items).To(BeEmpty(), "a MemberGate is left on the source")

	// The target has the MemberGate, spec whole, status gone; the Machines
	// with their hooks, none deleting (an object is created without its
	// deletionTimestamp).
	var moved v1alpha1.MemberGate
	g.Expect(dst.client.Get(ctx, c.Key(), &moved)).To(Succeed(), "the MemberGate was not moved")
	g.Expect(moved.Spec).To(Equal(srcGate.Spec))
	g.Expect(moved.Status.Machines).To(BeEmpty(), "clusterctl moved the status after all: docs/gate.md says it does not")
	var machines clusterv1.MachineList
	g.Expect(dst.client.List(ctx, &machines, client.InNamespace(c.Namespace))).To(Succeed())
	g.Expect(machines.Items).To(HaveLen(replicas + 1))
	for _, m := range machines.Items {
		g.Expect(m.Annotations).To(HaveKeyWithValue(v1alpha1.PreDrainHookAnnotation, v1alpha1.HookOwner), "Machine %s lost its hook", m.Name)
		g.Expect(m.DeletionTimestamp.IsZero()).To(BeTrue())
	}

	// The target's gate starts on what was moved: it re-observes the
	// members and releases nothing.
	gate, err := dst.startGate()
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { g.Expect(gate.stop()).To(Succeed()) }()
	g.Eventually(func() int {
		_ = dst.client.Get(ctx, c.Key(), &moved)
		return len(moved.Status.Machines)
	}).WithContext(ctx).WithTimeout(time.Minute).Should(Equal(replicas+1), "the target's gate did not take the cluster up")
	g.Expect(hooked(ctx, dst.client, c.Namespace)).To(HaveLen(replicas + 1))

	// The target's CAPI: the Machine controller restores what it reads from
	// the workload cluster, KCP deletes the outdated Machine again.
	g.Expect(restoreMachineStatus(ctx, dst.client, srcMachines.Items)).To(Succeed())
	var m clusterv1.Machine
	g.Expect(dst.client.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: held.Name}, &m)).To(Succeed())
	g.Expect(dst.client.Delete(ctx, &m)).To(Succeed())
	g.Eventually(func() bool {
		_ = dst.client.Get(ctx, c.Key(), &moved)
		i := slices.IndexFunc(moved.Status.Machines, func(r v1alpha1.MachineMembers) bool { return r.Name == held.Name })
		return i >= 0 && moved.Status.Machines[i].Held && moved.Status.Machines[i].Deleting
	}).WithContext(ctx).WithTimeout(time.Minute).Should(BeTrue(), "the target's gate does not hold %s", held.Name)
	g.Consistently(func() []string { return hooked(ctx, dst.client, c.Namespace) }).WithContext(ctx).
		WithTimeout(3*time.Second).WithPolling(250*time.Millisecond).Should(ContainElement(held.Name), "released while the new member is pending")

	// The new member serves: the hold ends.
	newMember := ""
	for _, v := range before.Machines {
		if v.Member != nil && !v.Member.Serving() {
			newMember = v.Member.ID
		}
	}
	g.Expect(newMember).NotTo(BeEmpty())
	g.Expect(c.Cloud.Server.SetMemberStatus(newMember, "ACTIVE", "ONLINE")).To(Succeed())
	g.Eventually(func() []string { return hooked(ctx, dst.client, c.Namespace) }).WithContext(ctx).
		WithTimeout(time.Minute).ShouldNot(ContainElement(held.Name), "the target's gate never released %s", held.Name)
}

func isNotFound(err error) bool { return client.IgnoreNotFound(err) == nil && err != nil }

// labelCRDsAsClusterctl adds the clusterctl label to CAPI's and the Dev
// infrastructure's CRDs, as clusterctl init does to every provider's
// components, and gives the MemberGate CRD the labels config/crd gives it.
func labelCRDsAsClusterctl(ctx context.Context, c client.Client) error {
	y, err := manifests.Kustomize("crd")
	if err != nil {
		return err
	}
	objs, err := manifests.Decode(y)
	if err != nil {
		return err
	}
	var list apiextensionsv1.CustomResourceDefinitionList
	if err := c.List(ctx, &list); err != nil {
		return err
	}
	for i := range list.Items {
		crd := &list.Items[i]
		orig := crd.DeepCopy()
		labels := map[string]string{clusterctlv1.ClusterctlLabel: ""}
		if crd.Spec.Group == v1alpha1.GroupVersion.Group {
			labels = map[string]string{}
			for _, o := range objs {
				if o.GetName() == crd.Name {
					labels = o.GetLabels()
				}
			}
		}
		if crd.Labels == nil {
			crd.Labels = map[string]string{}
		}
		for k, v := range labels {
			crd.Labels[k] = v
		}
		if err := c.Patch(ctx, crd, client.MergeFrom(orig)); err != nil {
			return err
		}
	}
	return nil
}

func addLabel(ctx context.Context, c client.Client, obj client.Object, key client.ObjectKey, label string) error {
	if err := c.Get(ctx, key, obj); err != nil {
		return err
	}
	orig := obj.DeepCopyObject().(client.Object)
	labels := obj.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[label] = ""
	obj.SetLabels(labels)
	return c.Patch(ctx, obj, client.MergeFrom(orig))
}

// hooked names the Machines that carry the gate's pre-drain hook.
func hooked(ctx context.Context, c client.Client, namespace string) []string {
	var ms clusterv1.MachineList
	if err := c.List(ctx, &ms, client.InNamespace(namespace)); err != nil {
		return nil
	}
	var out []string
	for _, m := range ms.Items {
		if m.Annotations[v1alpha1.PreDrainHookAnnotation] != "" {
			out = append(out, m.Name)
		}
	}
	return out
}

// restoreMachineStatus puts back the Nodes and addresses the Machines had
// on the source, as the target's Machine controller does once it reaches
// the workload cluster.
func restoreMachineStatus(ctx context.Context, c client.Client, was []clusterv1.Machine) error {
	for _, old := range was {
		var m clusterv1.Machine
		if err := c.Get(ctx, client.ObjectKeyFromObject(&old), &m); err != nil {
			return err
		}
		orig := m.DeepCopy()
		m.Status.NodeRef, m.Status.Addresses = old.Status.NodeRef, old.Status.Addresses
		if err := c.Status().Patch(ctx, &m, client.MergeFrom(orig)); err != nil {
			return err
		}
	}
	return nil
}
