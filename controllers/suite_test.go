package controllers

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	managerscheme "github.com/membergate/membergate/internal/scheme"
)

// The tests share one real kube-apiserver and etcd (envtest), built from Go
// modules by hack/envtest/build.sh and cached, with CAPI's, CAPO's and our
// CRDs installed from the module cache and config/.
var (
	cfg       *rest.Config
	k8sClient client.Client
)

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		out, err := exec.Command("../hack/envtest/build.sh").Output()
		if err != nil {
			fmt.Fprintf(os.Stderr, "building envtest binaries: %v\n", err)
			return 1
		}
		os.Setenv("KUBEBUILDER_ASSETS", strings.TrimSpace(string(out)))
	}
	capi, capo := moduleDir("sigs.k8s.io/cluster-api"), moduleDir("sigs.k8s.io/cluster-api-provider-openstack")
	env := &envtest.Environment{
		CRDDirectoryPaths: []string{
			filepath.Join(capi, "core", "config", "crd", "bases"),
			filepath.Join(capi, "controlplane", "kubeadm", "config", "crd", "bases"),
			filepath.Join(capo, "config", "crd", "bases"),
			filepath.Join("..", "config", "crd", "bases"),
		},
		ErrorIfCRDPathMissing: true,
	}
	var err error
	if cfg, err = env.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "starting envtest: %v\n", err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	if k8sClient, err = client.New(cfg, client.Options{Scheme: managerscheme.New()}); err != nil {
		fmt.Fprintf(os.Stderr, "client: %v\n", err)
		return 1
	}
	return m.Run()
}

func moduleDir(mod string) string {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", mod).Output()
	if err != nil {
		panic(fmt.Sprintf("go list -m %s: %v", mod, err))
	}
	return strings.TrimSpace(string(out))
}
