package testenv

import (
	"fmt"
	"os"
	"testing"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	managerscheme "github.com/membergate/membergate/internal/scheme"
)

// RunSuite is a package's TestMain body: it starts one kube-apiserver and
// etcd with the CRDs of sources, hands their config and a client on the
// manager's scheme to started, runs the tests and stops the server. It
// returns the exit code.
func RunSuite(m *testing.M, started func(*rest.Config, client.Client), sources ...Source) int {
	root, err := RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	env, err := New(root, "", sources...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "preparing envtest: %v\n", err)
		return 1
	}
	cfg, err := env.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting envtest: %v\n", err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	c, err := client.New(cfg, client.Options{Scheme: managerscheme.New()})
	if err != nil {
		fmt.Fprintf(os.Stderr, "client: %v\n", err)
		return 1
	}
	started(cfg, c)
	return m.Run()
}
