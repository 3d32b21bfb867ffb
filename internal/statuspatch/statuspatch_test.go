package statuspatch

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/membergate/membergate/api/v1alpha1"
	managerscheme "github.com/membergate/membergate/internal/scheme"
)

// The two owners of a MemberGate's status, as the reconcilers declare them.
var (
	gate = Owner{
		Fields:     func(s v1alpha1.MemberGateStatus) v1alpha1.MemberGateStatus { s.SecurityGroups = nil; return s },
		Conditions: []string{v1alpha1.ReadyCondition, v1alpha1.BlockingCondition},
	}
	groups = Owner{
		Fields: func(s v1alpha1.MemberGateStatus) v1alpha1.MemberGateStatus {
			return v1alpha1.MemberGateStatus{SecurityGroups: s.SecurityGroups}
		},
		Conditions: []string{v1alpha1.SecurityGroupsReadyCondition},
	}
)

func set(mg *v1alpha1.MemberGate, t string, ok bool, reason string) {
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	meta.SetStatusCondition(&mg.Status.Conditions, metav1.Condition{Type: t, Status: status, Reason: reason, Message: reason})
}

func newClient(objs ...client.Object) client.WithWatch {
	return fake.NewClientBuilder().WithScheme(managerscheme.New()).WithObjects(objs...).WithStatusSubresource(&v1alpha1.MemberGate{}).Build()
}

func get(g Gomega, c client.Client) *v1alpha1.MemberGate {
	mg := &v1alpha1.MemberGate{}
	g.Expect(c.Get(context.Background(), client.ObjectKey{Namespace: "ns", Name: "test"}, mg)).To(Succeed())
	return mg
}

// Each owner patches from a copy read before the other's write; neither
// undoes the other's fields or conditions.
func TestOwnersKeepEachOthersStatus(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c := newClient(&v1alpha1.MemberGate{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "test"}})

	gateCopy, groupsCopy := get(g, c), get(g, c)
	gh, sh := NewHelper(gateCopy, c, nil, gate), NewHelper(groupsCopy, c, nil, groups)

	groupsCopy.Status.SecurityGroups = &v1alpha1.SecurityGroupsStatus{Mode: v1alpha1.SecurityGroupsEnforce, Sources: []string{"10.6.0.0/24"}}
	set(groupsCopy, v1alpha1.SecurityGroupsReadyCondition, true, "Synced")
	g.Expect(sh.Patch(ctx, groupsCopy)).To(Succeed())

	gateCopy.Status.Replicas, gateCopy.Status.MemberReadyReplicas = ptr.To[int32](2), ptr.To[int32](2)
	set(gateCopy, v1alpha1.ReadyCondition, true, "Observed")
	set(gateCopy, v1alpha1.BlockingCondition, false, "NotBlocking")
	g.Expect(gh.Patch(ctx, gateCopy)).To(Succeed())

	mg := get(g, c)
	g.Expect(mg.Status.MemberReadyReplicas).To(HaveValue(BeEquivalentTo(2)))
	g.Expect(mg.Status.SecurityGroups).NotTo(BeNil(), "the gate's patch removed status.securityGroups")
	g.Expect(mg.Status.SecurityGroups.Sources).To(Equal([]string{"10.6.0.0/24"}))
	for _, typ := range []string{v1alpha1.ReadyCondition, v1alpha1.BlockingCondition, v1alpha1.SecurityGroupsReadyCondition} {
		g.Expect(meta.FindStatusCondition(mg.Status.Conditions, typ)).NotTo(BeNil(), "condition %s lost", typ)
	}
	g.Expect(gateCopy.Status.SecurityGroups).NotTo(BeNil(), "the patched copy is not the API server's answer")

	// The other way round: the security groups patch from a copy older
	// than the gate's write.
	groupsCopy = mg.DeepCopy()
	sh = NewHelper(groupsCopy, c, nil, groups)
	gateCopy = get(g, c)
	gh = NewHelper(gateCopy, c, nil, gate)
	set(gateCopy, v1alpha1.BlockingCondition, true, "RolloutHeld")
	gateCopy.Status.MemberReadyReplicas = ptr.To[int32](1)
	g.Expect(gh.Patch(ctx, gateCopy)).To(Succeed())
	groupsCopy.Status.SecurityGroups.Problems = []string{"OpenStack: HTTP 503"}
	set(groupsCopy, v1alpha1.SecurityGroupsReadyCondition, false, "OpenStackUnavailable")
	g.Expect(sh.Patch(ctx, groupsCopy)).To(Succeed())

	mg = get(g, c)
	g.Expect(mg.Status.MemberReadyReplicas).To(HaveValue(BeEquivalentTo(1)), "the security groups' patch undid the gate's")
	g.Expect(meta.IsStatusConditionTrue(mg.Status.Conditions, v1alpha1.BlockingCondition)).To(BeTrue())
	g.Expect(meta.FindStatusCondition(mg.Status.Conditions, v1alpha1.SecurityGroupsReadyCondition).Reason).To(Equal("OpenStackUnavailable"))
	g.Expect(mg.Status.SecurityGroups.Problems).To(Equal([]string{"OpenStack: HTTP 503"}))
}

// A write between reading the latest conditions and patching them is a
// conflict, retried on the newer list.
func TestConditionsPatchRetriesOnConflict(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	base := newClient(&v1alpha1.MemberGate{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "test"}})
	raced := false
	latest := interceptor.NewClient(base, interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if err := c.Get(ctx, key, obj, opts...); err != nil || raced {
				return err
			}
			raced = true
			other := obj.DeepCopyObject().(*v1alpha1.MemberGate)
			set(other, v1alpha1.SecurityGroupsReadyCondition, true, "Synced")
			return c.Status().Update(ctx, other)
		},
	})
	mg := get(g, base)
	h := NewHelper(mg, base, latest, gate)
	set(mg, v1alpha1.ReadyCondition, true, "Observed")
	g.Expect(h.Patch(ctx, mg)).To(Succeed())
	g.Expect(raced).To(BeTrue())
	got := get(g, base)
	g.Expect(meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ReadyCondition)).NotTo(BeNil())
	g.Expect(meta.FindStatusCondition(got.Status.Conditions, v1alpha1.SecurityGroupsReadyCondition)).NotTo(BeNil(), "the concurrent write was lost")
}

// Nothing changed: nothing is sent.
func TestNoChangeNoRequest(t *testing.T) {
	g := NewWithT(t)
	base := newClient(&v1alpha1.MemberGate{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "test"}})
	patches := 0
	c := interceptor.NewClient(base, interceptor.Funcs{
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
			patches++
			return c.SubResource(sub).Patch(ctx, obj, p, opts...)
		},
	})
	mg := get(g, base)
	mg.Status.SecurityGroups = &v1alpha1.SecurityGroupsStatus{Mode: v1alpha1.SecurityGroupsAudit}
	g.Expect(NewHelper(mg, c, nil, gate).Patch(context.Background(), mg)).To(Succeed())
	g.Expect(patches).To(BeZero(), "the gate sent a field it does not own")
}

// A copy refreshed mid-reconcile (a finalizer patch answers with the whole
// object) shows the other owner's conditions as they were then: they are
// not the owner's to write, and a newer write of them stays.
func TestARefreshedCopyWritesOnlyItsOwnConditions(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c := newClient(&v1alpha1.MemberGate{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "test"}})
	groupsCopy := get(g, c)
	sh := NewHelper(groupsCopy, c, nil, groups)

	gateCopy := get(g, c)
	set(gateCopy, v1alpha1.BlockingCondition, false, "NotBlocking")
	g.Expect(NewHelper(get(g, c), c, nil, gate).Patch(ctx, gateCopy)).To(Succeed())
	groupsCopy = get(g, c)
	gateCopy = get(g, c)
	gh := NewHelper(gateCopy.DeepCopy(), c, nil, gate)
	set(gateCopy, v1alpha1.BlockingCondition, true, "RolloutHeld")
	g.Expect(gh.Patch(ctx, gateCopy)).To(Succeed())

	set(groupsCopy, v1alpha1.SecurityGroupsReadyCondition, true, "Synced")
	g.Expect(sh.Patch(ctx, groupsCopy)).To(Succeed())
	mg := get(g, c)
	g.Expect(meta.FindStatusCondition(mg.Status.Conditions, v1alpha1.BlockingCondition).Reason).To(Equal("RolloutHeld"))
	g.Expect(meta.FindStatusCondition(mg.Status.Conditions, v1alpha1.SecurityGroupsReadyCondition)).NotTo(BeNil())
}
