package harness

import (
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/membergate/membergate/internal/testenv"
)

// newEnvironment prepares envtest with the project's own kube-apiserver and
// etcd and the CRDs the rollout needs: CAPI core, KCP, kubeadm bootstrap,
// the Dev infrastructure, CAPO (the gate watches OpenStackClusters) and
// MemberGate.
func newEnvironment(root, assets string) (*envtest.Environment, error) {
	return testenv.New(root, assets, testenv.CAPISources...)
}

// RepoRoot finds this repository's root from the working directory, so the
// test (run in its package directory) and the demo (run from the root) both
// find hack/ and config/.
func RepoRoot() (string, error) { return testenv.RepoRoot() }
