// Package testenv prepares envtest for the suites that need a real
// kube-apiserver: the project's own kube-apiserver and etcd (built from Go
// modules by hack/envtest/build.sh and cached), and the CRDs of CAPI, CAPO
// and membergate from the module cache and config/, with the contract
// labels CAPI's kustomizations would add.
package testenv

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

// Source is a directory of CRDs: Dir inside Module's directory in the
// module cache, or inside the repository when Module is empty.
type Source struct {
	Module, Dir string
	// Contract adds CAPI's contract labels, as a provider's kustomization
	// would.
	Contract bool
}

// The CRD sources: CAPI core, KubeadmControlPlane, kubeadm bootstrap, CAPO
// (the gate watches OpenStackClusters) and membergate's own. Suites in the
// test module add CAPI's Dev infrastructure from there.
var (
	CAPICore   = Source{Module: "sigs.k8s.io/cluster-api", Dir: "core/config/crd/bases"}
	KCP        = Source{Module: "sigs.k8s.io/cluster-api", Dir: "controlplane/kubeadm/config/crd/bases", Contract: true}
	Kubeadm    = Source{Module: "sigs.k8s.io/cluster-api", Dir: "bootstrap/kubeadm/config/crd/bases", Contract: true}
	CAPO       = Source{Module: "sigs.k8s.io/cluster-api-provider-openstack", Dir: "config/crd/bases", Contract: true}
	MemberGate = Source{Dir: "config/crd/bases"}
	// GateSources are what the gate reads and writes.
	GateSources = []Source{CAPICore, KCP, CAPO, MemberGate}
	// CAPISources add what CAPI's own controllers need to run a rollout,
	// apart from the infrastructure provider's CRDs.
	CAPISources = []Source{CAPICore, KCP, Kubeadm, CAPO, MemberGate}
)

var errNoModRoot = errors.New("not inside the membergate repository (no go.mod of github.com/membergate/membergate above the working directory)")

// New prepares (does not start) envtest with the binaries in assets — empty
// means $KUBEBUILDER_ASSETS, else what hack/envtest/build.sh prints — and
// the CRDs of sources.
func New(root, assets string, sources ...Source) (*envtest.Environment, error) {
	if assets == "" {
		var err error
		if assets, err = Assets(root); err != nil {
			return nil, err
		}
	}
	crds, err := CRDs(root, sources...)
	if err != nil {
		return nil, err
	}
	return &envtest.Environment{BinaryAssetsDirectory: assets, CRDs: crds, ErrorIfCRDPathMissing: true}, nil
}

// Assets is $KUBEBUILDER_ASSETS, or the directory hack/envtest/build.sh
// builds (once, then cached) and prints.
func Assets(root string) (string, error) {
	if a := os.Getenv("KUBEBUILDER_ASSETS"); a != "" {
		return a, nil
	}
	cmd := exec.Command(filepath.Join(root, "hack", "envtest", "build.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("building the envtest binaries (hack/envtest/build.sh): %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// CRDs reads every CRD of the sources, adding contract labels where
// kustomize would.
func CRDs(root string, sources ...Source) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	var out []*apiextensionsv1.CustomResourceDefinition
	for _, src := range sources {
		base := root
		if src.Module != "" {
			var err error
			if base, err = ModuleDir(root, src.Module); err != nil {
				return nil, err
			}
		}
		dir := filepath.Join(base, filepath.FromSlash(src.Dir))
		files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("no CRDs in %s", dir)
		}
		for _, f := range files {
			crds, err := readCRDs(f)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			for _, crd := range crds {
				if src.Contract {
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

// RepoRoot finds this repository's root from the working directory, so
// tests (run in their package directory) and commands (run from the root)
// both find hack/ and config/.
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
			return "", errNoModRoot
		}
		dir = parent
	}
}

// ModuleDir is where the module cache holds a dependency, at the version
// the module of the working directory selects: a suite in the test module
// finds the modules only that module requires.
func ModuleDir(_, mod string) (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", mod)
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
