package main

import (
	"os"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/membergate/membergate/internal/testenv"
)

// The scale benchmark and its small test run the manager's own wiring on
// one real kube-apiserver and etcd (envtest).
var (
	cfg       *rest.Config
	k8sClient client.Client
)

func TestMain(m *testing.M) {
	ctrl.SetLogger(logr.Discard())
	os.Exit(testenv.RunSuite(m, func(c *rest.Config, cl client.Client) { cfg, k8sClient = c, cl }, testenv.GateSources...))
}
