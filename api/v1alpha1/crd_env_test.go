package v1alpha1_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
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

// TestPrinterColumnsShowTheStatus: every printer column of the CRD resolves
// to a field the controller writes, as kubectl get prints it: the API
// server renders the columns itself when asked for a Table.
func TestPrinterColumnsShowTheStatus(t *testing.T) {
	g := NewWithT(t)
	root, err := testenv.RepoRoot()
	g.Expect(err).NotTo(HaveOccurred())
	env, err := testenv.New(root, "", testenv.MemberGate)
	g.Expect(err).NotTo(HaveOccurred())
	cfg, err := env.Start()
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = env.Stop() }()
	c, err := client.New(cfg, client.Options{Scheme: scheme.New()})
	g.Expect(err).NotTo(HaveOccurred())
	ctx := context.Background()

	mg := &v1alpha1.MemberGate{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "prod"},
		Spec: v1alpha1.MemberGateSpec{ClusterName: "prod", Mode: v1alpha1.ModeEnforce}}
	g.Expect(c.Create(ctx, mg)).To(Succeed())
	at := metav1.NewTime(time.Now().Truncate(time.Second))
	held := "holding prod-cp-abc: prod-cp-xyz is MemberPending (member 5f is PENDING_CREATE/OFFLINE)"
	mg.Status = v1alpha1.MemberGateStatus{
		LoadBalancer: v1alpha1.LoadBalancerStatus{ID: "lb-1", ProvisioningStatus: "PENDING_UPDATE", OperatingStatus: "ONLINE"},
		Replicas:     ptr.To[int32](4), MemberReadyReplicas: ptr.To[int32](3),
		Conditions: []metav1.Condition{
			{Type: v1alpha1.ReadyCondition, Status: metav1.ConditionFalse, Reason: "OctaviaUnavailable", Message: "Octavia answered 503", LastTransitionTime: at},
			{Type: v1alpha1.BlockingCondition, Status: metav1.ConditionTrue, Reason: "RolloutHeld", Message: held, LastTransitionTime: at},
		}}
	g.Expect(c.Status().Update(ctx, mg)).To(Succeed())

	table := getTable(g, cfg, "/apis/membergate.io/v1alpha1/namespaces/default/membergates/prod")
	g.Expect(table.Rows).To(HaveLen(1))
	cells := map[string]string{}
	for i, col := range table.ColumnDefinitions {
		cells[col.Name] = fmt.Sprint(table.Rows[0].Cells[i])
	}
	g.Expect(cells).To(Equal(map[string]string{
		"Name": "prod", "Cluster": "prod", "Mode": "Enforce",
		"Machines": "4", "Member-Ready": "3", "Blocking": "True", "Ready": "OctaviaUnavailable",
		"LB": "PENDING_UPDATE", "Message": held, "Age": cells["Age"],
	}))
	g.Expect(cells["Age"]).NotTo(BeEmpty())
}

// getTable GETs path as kubectl get does, for the server-side Table.
func getTable(g Gomega, cfg *rest.Config, path string) *metav1.Table {
	hc, err := rest.HTTPClientFor(cfg)
	g.Expect(err).NotTo(HaveOccurred())
	u, err := url.JoinPath(cfg.Host, path)
	g.Expect(err).NotTo(HaveOccurred())
	req, err := http.NewRequest(http.MethodGet, u, nil)
	g.Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	resp, err := hc.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK), "%s", body)
	table := &metav1.Table{}
	g.Expect(json.Unmarshal(body, table)).To(Succeed())
	return table
}
