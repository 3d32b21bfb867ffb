package harness

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// contractLabels are the labels CAPI's kustomizations put on provider CRDs:
// CAPI resolves a provider's API version from them, and without them it
// cannot follow a reference to a KubeadmControlPlane or a DevMachine.
var contractLabels = map[string]string{
	"cluster.x-k8s.io/v1beta1": "v1beta1",
	"cluster.x-k8s.io/v1beta2": "v1beta2",
}

// crdSource is a directory of CRDs and whether they need contract labels.
type crdSource struct {
	dir      string
	contract bool
}

// crdSources lists the CRDs the rollout needs, from the module cache (CAPI
// core, KCP, kubeadm bootstrap, Dev infrastructure, CAPO — the gate watches
// OpenStackClusters) and from this repository (MemberGate).
func crdSources(root string) ([]crdSource, error) {
	capi, err := moduleDir(root, "sigs.k8s.io/cluster-api")
	if err != nil {
		return nil, err
	}
	capiTest, err := moduleDir(root, "sigs.k8s.io/cluster-api/test")
	if err != nil {
		return nil, err
	}
	capo, err := moduleDir(root, "sigs.k8s.io/cluster-api-provider-openstack")
	if err != nil {
		return nil, err
	}
	return []crdSource{
		{dir: filepath.Join(capi, "core", "config", "crd", "bases")},
		{dir: filepath.Join(capi, "controlplane", "kubeadm", "config", "crd", "bases"), contract: true},
		{dir: filepath.Join(capi, "bootstrap", "kubeadm", "config", "crd", "bases"), contract: true},
		{dir: filepath.Join(capiTest, "infrastructure", "docker", "config", "crd", "bases"), contract: true},
		{dir: filepath.Join(capo, "config", "crd", "bases"), contract: true},
		{dir: filepath.Join(root, "config", "crd", "bases")},
	}, nil
}

// loadCRDs reads every CRD of the sources, adding contract labels where
// kustomize would.
func loadCRDs(sources []crdSource) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	var out []*apiextensionsv1.CustomResourceDefinition
	for _, src := range sources {
		files, err := filepath.Glob(filepath.Join(src.dir, "*.yaml"))
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("no CRDs in %s", src.dir)
		}
		for _, f := range files {
			crds, err := readCRDs(f)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			for _, crd := range crds {
				if src.contract {
					if crd.Labels == nil {
						crd.Labels = map[string]string{}
					}
					for k, v := range contractLabels {
						crd.Labels[k] = v
					}
				}
				out = append(out, crd)
			}
		}
	}
	return out, nil
}

func readCRDs(path string) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*apiextensionsv1.CustomResourceDefinition
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := dec.Decode(crd); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		if crd.Kind == "CustomResourceDefinition" {
			out = append(out, crd)
		}
	}
}

// newEnvironment prepares envtest with the project's own kube-apiserver and
// etcd (hack/envtest/build.sh builds and caches them) and the CRDs.
func newEnvironment(root, assets string) (*envtest.Environment, error) {
	if assets == "" {
		assets = os.Getenv("KUBEBUILDER_ASSETS")
	}
	if assets == "" {
		cmd := exec.Command(filepath.Join(root, "hack", "envtest", "build.sh"))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("building the envtest binaries (hack/envtest/build.sh): %w", err)
		}
		assets = strings.TrimSpace(string(out))
	}
	sources, err := crdSources(root)
	if err != nil {
		return nil, err
	}
	crds, err := loadCRDs(sources)
	if err != nil {
		return nil, err
	}
	return &envtest.Environment{BinaryAssetsDirectory: assets, CRDs: crds, ErrorIfCRDPathMissing: true}, nil
}

// RepoRoot finds this repository's root from the working directory, so the
// test (run in its package directory) and the demo (run from the root) both
// find hack/ and config/.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(data, []byte("module github.com/membergate/membergate\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the membergate repository (no go.mod of github.com/membergate/membergate above the working directory)")
		}
		dir = parent
	}
}

// moduleDir is where the module cache holds a dependency, at the version
// this repository's go.mod selects.
func moduleDir(root, mod string) (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", mod)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list -m %s: %w", mod, err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("go list -m %s: module not downloaded; run go mod download", mod)
	}
	return dir, nil
}
