package manifests_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/membergate/membergate/internal/testenv"
)

// CertManagerVersion is the cert-manager whose CRDs the test installs: the
// one clusterctl v1.14 installs with Cluster API.
const CertManagerVersion = "v1.21.1"

// TestDefaultAppliesToARealAPIServer server-side applies config/default,
// as clusterctl substitutes it, to a real kube-apiserver that has Cluster
// API's and cert-manager's CRDs (from their Go modules): every object is
// accepted by its schema, and applying again changes nothing.
func TestDefaultAppliesToARealAPIServer(t *testing.T) {
	g := NewWithT(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	root, err := testenv.RepoRoot()
	g.Expect(err).NotTo(HaveOccurred())
	env, err := testenv.New(root, "", testenv.CAPICore)
	g.Expect(err).NotTo(HaveOccurred())
	env.CRDDirectoryPaths = []string{filepath.Join(certManagerDir(t), "deploy", "crds")}
	cfg, err := env.Start()
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = env.Stop() }()
	s := runtime.NewScheme()
	g.Expect(clientgoscheme.AddToScheme(s)).To(Succeed())
	g.Expect(apiextensionsv1.AddToScheme(s)).To(Succeed())
	c, err := client.New(cfg, client.Options{Scheme: s})
	g.Expect(err).NotTo(HaveOccurred())

	objs := built(t)
	apply := func(o *unstructured.Unstructured) error {
		return c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o.DeepCopy()), client.FieldOwner("membergate-install"), client.ForceOwnership)
	}
	// The CRD first, as clusterctl does: the rest may need its kind.
	for _, o := range objs {
		if o.GetKind() == "CustomResourceDefinition" {
			g.Expect(apply(o)).To(Succeed())
			g.Eventually(func() bool { return established(ctx, c, o.GetName()) }).WithTimeout(30 * time.Second).Should(BeTrue())
		}
	}
	versions := map[string]string{}
	for _, o := range objs {
		g.Expect(apply(o)).To(Succeed(), "applying %s %s", o.GetKind(), o.GetName())
	}
	for _, o := range objs {
		got := live(ctx, g, c, o)
		versions[key(o)] = got.GetResourceVersion()
		// What the API server kept is what was applied: no field pruned by
		// a schema (a misspelt field would be dropped silently).
		g.Expect(contains(got.Object, o.Object)).To(BeEmpty(), "%s %s lost fields on the server", o.GetKind(), o.GetName())
	}
	for _, o := range objs {
		g.Expect(apply(o)).To(Succeed())
		g.Expect(live(ctx, g, c, o).GetResourceVersion()).To(Equal(versions[key(o)]), "re-applying %s %s changed it", o.GetKind(), o.GetName())
	}
}

func key(o *unstructured.Unstructured) string {
	return o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName()
}

func live(ctx context.Context, g Gomega, c client.Client, o *unstructured.Unstructured) *unstructured.Unstructured {
	got := &unstructured.Unstructured{}
	got.SetGroupVersionKind(o.GroupVersionKind())
	g.ExpectWithOffset(1, c.Get(ctx, client.ObjectKeyFromObject(o), got)).To(Succeed(), "%s %s", o.GetKind(), o.GetName())
	return got
}

// contains lists the paths of want that got does not hold with the same
// value (got may hold more: defaults, status, metadata).
func contains(got, want any) []string {
	var missing []string
	var walk func(path string, got, want any)
	walk = func(path string, got, want any) {
		switch w := want.(type) {
		case map[string]any:
			gm, ok := got.(map[string]any)
			if !ok {
				missing = append(missing, path)
				return
			}
			for k, v := range w {
				if path == "" && (k == "status") {
					continue
				}
				walk(path+"."+k, gm[k], v)
			}
		case []any:
			gl, ok := got.([]any)
			if !ok || len(gl) != len(w) {
				missing = append(missing, path)
				return
			}
			for i := range w {
				walk(fmt.Sprintf("%s[%d]", path, i), gl[i], w[i])
			}
		default:
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(want)
			if string(gj) != string(wj) {
				missing = append(missing, fmt.Sprintf("%s: %s != %s", path, gj, wj))
			}
		}
	}
	walk("", got, want)
	return missing
}

func established(ctx context.Context, c client.Client, name string) bool {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := c.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
		return false
	}
	for _, cond := range crd.Status.Conditions {
		if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
			return true
		}
	}
	return false
}

// certManagerDir is CertManagerVersion's module in the module cache,
// downloaded through the module proxy once, without touching go.mod.
func certManagerDir(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", "github.com/cert-manager/cert-manager@"+CertManagerVersion)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	var info struct{ Dir string }
	if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
		t.Fatalf("go mod download github.com/cert-manager/cert-manager@%s: %s", CertManagerVersion, out)
	}
	return info.Dir
}
