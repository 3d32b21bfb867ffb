package controllers

import (
	"os"
	"testing"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

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
	os.Exit(testenv.RunSuite(m, func(c *rest.Config, cl client.Client) { cfg, k8sClient = c, cl }, testenv.GateSources...))
}
