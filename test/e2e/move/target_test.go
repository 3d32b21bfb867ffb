package move

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/time/rate"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	devv1 "sigs.k8s.io/cluster-api/test/infrastructure/docker/api/v1beta2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/membergate/membergate/controllers"
	"github.com/membergate/membergate/internal/cloud/scope"
	managerscheme "github.com/membergate/membergate/internal/scheme"
	"github.com/membergate/membergate/internal/testenv"
	"github.com/membergate/membergate/test/e2e/inprocess/harness"
)

// target is the management cluster the cluster moves to: an API server
// with the same CRDs as the source (as clusterctl init would have
// installed the same providers), and no controllers until startGate.
type target struct {
	env    *envtest.Environment
	config *rest.Config
	client client.Client
}

// devInfraCRDs are CAPI's Dev infrastructure CRDs, as on the source.
var devInfraCRDs = testenv.Source{Module: "sigs.k8s.io/cluster-api/test", Dir: "infrastructure/docker/config/crd/bases", Contract: true}

func startTarget() (*target, error) {
	root, err := testenv.RepoRoot()
	if err != nil {
		return nil, err
	}
	env, err := testenv.New(root, "", append(testenv.CAPISources, devInfraCRDs)...)
	if err != nil {
		return nil, err
	}
	t := &target{env: env}
	if t.config, err = env.Start(); err != nil {
		return nil, fmt.Errorf("starting the target's envtest: %w", err)
	}
	if t.client, err = client.New(t.config, client.Options{Scheme: newScheme()}); err != nil {
		return nil, errors.Join(err, env.Stop())
	}
	return t, nil
}

func (t *target) stop() error { return t.env.Stop() }

// newScheme is the gate's scheme plus the Dev infrastructure the
// DevLocator reads, kubeadm bootstrap and CRDs.
func newScheme() *runtime.Scheme {
	s := managerscheme.New()
	for _, add := range []func(*runtime.Scheme) error{bootstrapv1.AddToScheme, devv1.AddToScheme, apiextensionsv1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}

// targetGate is the target's gate process, set up as harness.Gate sets up
// the source's: a manager of its own and a GateReconciler whose DevLocator
// finds the load balancer in the cluster's shared cloud.
type targetGate struct {
	cancel context.CancelFunc
	done   chan error
}

func (t *target) startGate() (*targetGate, error) {
	mgr, err := ctrl.NewManager(rest.CopyConfig(t.config), ctrl.Options{
		Scheme:                 newScheme(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// The source's gate registered a controller of the same name.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		return nil, err
	}
	r := &controllers.GateReconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("membergate"),
		Sources:  &scope.SecretSources{Client: mgr.GetAPIReader(), Budget: rate.Inf, Burst: 10},
		Locator:  harness.DevLocator{},
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	g := &targetGate{cancel: cancel, done: make(chan error, 1)}
	go func() { g.done <- mgr.Start(ctx) }()
	syncCtx, cancelSync := context.WithTimeout(ctx, time.Minute)
	defer cancelSync()
	if !mgr.GetCache().WaitForCacheSync(syncCtx) {
		cancel()
		return nil, errors.Join(errors.New("the target gate's cache did not sync within a minute"), <-g.done)
	}
	return g, nil
}

func (g *targetGate) stop() error {
	g.cancel()
	select {
	case err := <-g.done:
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	case <-time.After(45 * time.Second):
		return errors.New("the target's gate did not stop within 45 s")
	}
}

// writeKubeconfig writes a kubeconfig that reaches cfg's API server as
// cfg's user, for clusterctl.
func writeKubeconfig(cfg *rest.Config, path string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["envtest"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "envtest"}
	kc.CurrentContext = "envtest"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return err
	}
	return os.Chmod(path, 0o600)
}
