//go:build e2e

package kind

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/klog/v2"
	infrav1 "sigs.k8s.io/cluster-api-provider-openstack/api/v1beta1"
	runtimev1 "sigs.k8s.io/cluster-api/api/runtime/v1beta2"
	"sigs.k8s.io/cluster-api/test/framework"
	"sigs.k8s.io/cluster-api/test/framework/bootstrap"
	"sigs.k8s.io/cluster-api/test/framework/clusterctl"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/membergate/membergate/api/v1alpha1"
)

// Flags, as in Cluster API's own e2e suites.
var (
	configPath         string
	artifactFolder     string
	skipCleanup        bool
	useExistingCluster bool
)

// Shared by the specs; set up once in SynchronizedBeforeSuite.
var (
	ctx                      = ctrl.SetupSignalHandler()
	watchesCtx, stopWatches  = context.WithCancel(ctx)
	e2eConfig                *clusterctl.E2EConfig
	clusterctlConfigPath     string
	bootstrapClusterProvider bootstrap.ClusterProvider
	bootstrapClusterProxy    framework.ClusterProxy
)

func init() {
	flag.StringVar(&configPath, "e2e.config", "config/membergate.yaml", "path to the e2e config file")
	flag.StringVar(&artifactFolder, "e2e.artifacts-folder", "_artifacts", "folder for logs and the clusterctl repository")
	flag.BoolVar(&skipCleanup, "e2e.skip-resource-cleanup", false, "keep the clusters after the run, to look at them")
	flag.BoolVar(&useExistingCluster, "e2e.use-existing-cluster", false, "use the current kubeconfig's cluster as the management cluster instead of creating a kind cluster")
}

func TestE2E(t *testing.T) {
	ctrl.SetLogger(klog.Background())
	if dir, ok := os.LookupEnv("ARTIFACTS"); ok {
		artifactFolder = dir
	}
	if err := os.MkdirAll(artifactFolder, 0o755); err != nil {
		t.Fatal(err)
	}
	RegisterFailHandler(Fail)
	RunSpecs(t, "membergate-e2e")
}

// scheme knows Cluster API, CAPO, ExtensionConfig and MemberGate.
func scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	framework.TryAddDefaultSchemes(s)
	Expect(infrav1.AddToScheme(s)).To(Succeed())
	Expect(runtimev1.AddToScheme(s)).To(Succeed())
	Expect(v1alpha1.AddToScheme(s)).To(Succeed())
	return s
}

var _ = SynchronizedBeforeSuite(func() []byte {
	Expect(configPath).To(BeAnExistingFile(), "-e2e.config must be an existing file")
	e2eConfig = clusterctl.LoadE2EConfig(ctx, clusterctl.LoadE2EConfigInput{ConfigPath: configPath})

	By("Creating a clusterctl repository with Cluster API, CAPO and membergate (from config/default)")
	repo := clusterctl.CreateRepositoryInput{E2EConfig: e2eConfig, RepositoryFolder: filepath.Join(artifactFolder, "repository")}
	cni := e2eConfig.MustGetVariable("CNI_PATH")
	Expect(cni).To(BeAnExistingFile(), "CNI_PATH must name a CNI manifest (e.g. Calico's calico.yaml)")
	repo.RegisterClusterResourceSetConfigMapTransformation(cni, "CNI_RESOURCES")
	clusterctlConfigPath = clusterctl.CreateRepository(ctx, repo)

	kubeconfig := ""
	if !useExistingCluster {
		By("Creating the kind management cluster and loading the membergate image")
		bootstrapClusterProvider = bootstrap.CreateKindBootstrapClusterAndLoadImages(ctx, bootstrap.CreateKindBootstrapClusterAndLoadImagesInput{
			Name:              e2eConfig.ManagementClusterName,
			KubernetesVersion: e2eConfig.MustGetVariable("KUBERNETES_VERSION_MANAGEMENT"),
			Images:            e2eConfig.Images,
			LogFolder:         filepath.Join(artifactFolder, "kind"),
		})
		kubeconfig = bootstrapClusterProvider.GetKubeconfigPath()
	}
	bootstrapClusterProxy = framework.NewClusterProxy("bootstrap", kubeconfig, scheme())

	By("clusterctl init: core, kubeadm, openstack and the membergate runtime extension")
	clusterctl.InitManagementClusterAndWatchControllerLogs(watchesCtx, clusterctl.InitManagementClusterAndWatchControllerLogsInput{
		ClusterProxy:              bootstrapClusterProxy,
		ClusterctlConfigPath:      clusterctlConfigPath,
		InfrastructureProviders:   e2eConfig.InfrastructureProviders(),
		RuntimeExtensionProviders: e2eConfig.RuntimeExtensionProviders(),
		LogFolder:                 filepath.Join(artifactFolder, "clusters", "bootstrap"),
	}, e2eConfig.GetIntervals("default", "wait-controllers")...)

	return []byte(strings.Join([]string{artifactFolder, configPath, clusterctlConfigPath, bootstrapClusterProxy.GetKubeconfigPath()}, ","))
}, func(data []byte) {
	parts := strings.Split(string(data), ",")
	Expect(parts).To(HaveLen(4))
	artifactFolder, configPath, clusterctlConfigPath = parts[0], parts[1], parts[2]
	e2eConfig = clusterctl.LoadE2EConfig(ctx, clusterctl.LoadE2EConfigInput{ConfigPath: configPath})
	bootstrapClusterProxy = framework.NewClusterProxy("bootstrap", parts[3], scheme())
})

var _ = SynchronizedAfterSuite(func() {}, func() {
	if skipCleanup {
		return
	}
	stopWatches()
	if bootstrapClusterProxy != nil {
		bootstrapClusterProxy.Dispose(ctx)
	}
	if bootstrapClusterProvider != nil {
		bootstrapClusterProvider.Dispose(ctx)
	}
})
