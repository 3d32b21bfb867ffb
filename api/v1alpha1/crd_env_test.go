package v1alpha1_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/internal/scheme"
	"github.com/membergate/membergate/internal/testenv"
)

// TestCRDRefusesAMemberGateNamedOtherwise: the generated CRD alone, with no
// webhook, makes a MemberGate's name its Cluster's. The controller reads the
// MemberGate named after the Cluster, so one named otherwise would be
// silently ignored (or, named after another Cluster, applied to that one).
// One made before the rule stays updatable.
func TestCRDRefusesAMemberGateNamedOtherwise(t *testing.T) {
	g := NewWithT(t)
	root, err := testenv.RepoRoot()
	g.Expect(err).NotTo(HaveOccurred())
	env, err := testenv.New(root, "", testenv.MemberGate)
	g.Expect(err).NotTo(HaveOccurred())
	// The CRD as it was before the rule, to make a MemberGate the rule
	// would refuse, as an older release let users make.
	g.Expect(env.CRDs).To(HaveLen(1))
	generated := env.CRDs[0].DeepCopy()
	schema := env.CRDs[0].Spec.Versions[0].Schema.OpenAPIV3Schema
	g.Expect(schema.XValidations).NotTo(BeEmpty(), "the generated CRD has no rule at the type level")
	schema.XValidations = nil
	cfg, err := env.Start()
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = env.Stop() }()
	sch := scheme.New()
	g.Expect(apiextensionsv1.AddToScheme(sch)).To(Succeed())
	c, err := client.New(cfg, client.Options{Scheme: sch})
	g.Expect(err).NotTo(HaveOccurred())
	ctx := context.Background()

	gate := func(name, cluster string) *v1alpha1.MemberGate {
		return &v1alpha1.MemberGate{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
			Spec: v1alpha1.MemberGateSpec{ClusterName: cluster}}
	}
	old := gate("old-policy", "prod")
	g.Expect(c.Create(ctx, old)).To(Succeed())

	// The generated CRD, as an upgrade installs it.
	crd := &apiextensionsv1.CustomResourceDefinition{}
	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(generated), crd)).To(Succeed())
	crd.Spec = generated.Spec
	g.Expect(c.Update(ctx, crd)).To(Succeed())
	g.Eventually(func() error { return c.Create(ctx, gate("prod-policy", "prod")) }).WithTimeout(30 * time.Second).
		Should(MatchError(ContainSubstring("name the MemberGate after its Cluster")))

	err = c.Create(ctx, gate("prod-policy", "prod"))
	g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
	g.Expect(err.Error()).To(ContainSubstring("name the MemberGate after its Cluster"))

	// A generated name is the name the rule sees.
	unnamed := gate("", "prod")
	unnamed.GenerateName = "prod-"
	err = c.Create(ctx, unnamed)
	g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)

	mg := gate("prod", "prod")
	g.Expect(c.Create(ctx, mg)).To(Succeed())
	mg.Spec.Mode = v1alpha1.ModeAudit
	g.Expect(c.Update(ctx, mg)).To(Succeed(), "an update of a MemberGate named after its Cluster")

	// The one made before the rule can still change, and lose the
	// finalizer the controller may have put on it.
	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(old), old)).To(Succeed())
	old.Finalizers = []string{v1alpha1.SecurityGroupsFinalizer}
	g.Expect(c.Update(ctx, old)).To(Succeed(), "an old MemberGate named otherwise cannot be updated")
	old.Status.Replicas = ptr.To[int32](1)
	g.Expect(c.Status().Update(ctx, old)).To(Succeed(), "an old MemberGate named otherwise cannot have its status updated")
	old.Finalizers = nil
	g.Expect(c.Update(ctx, old)).To(Succeed(), "an old MemberGate named otherwise cannot lose its finalizer")
}
