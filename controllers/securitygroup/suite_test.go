package securitygroup

import (
	"fmt"
	"os"
	"testing"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	managerscheme "github.com/membergate/membergate/internal/scheme"
	"github.com/membergate/membergate/internal/testenv"
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
	root, err := testenv.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	env, err := testenv.New(root, "", testenv.GateSources...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "preparing envtest: %v\n", err)
		return 1
	}
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
