//go:build e2e

package kind

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/utils/ptr"
	infrav1 "sigs.k8s.io/cluster-api-provider-openstack/api/v1beta1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	runtimev1 "sigs.k8s.io/cluster-api/api/runtime/v1beta2"
	"sigs.k8s.io/cluster-api/test/framework"
	"sigs.k8s.io/cluster-api/test/framework/clusterctl"
	"sigs.k8s.io/cluster-api/util"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/internal/openstackauth"
	"github.com/membergate/membergate/pkg/memberwait"
)

const controlPlaneReplicas = 3

var _ = Describe("The gate on a CAPO ClusterClass cluster", func() {
	var (
		namespace     *corev1.Namespace
		cancelEvents  context.CancelFunc
		clusterName   string
		clusterResult *clusterctl.ApplyClusterTemplateAndWaitResult
	)

	BeforeEach(func() {
		clusterName = "membergate-" + util.RandomString(6)
		namespace, cancelEvents = framework.CreateNamespaceAndWatchEvents(ctx, framework.CreateNamespaceAndWatchEventsInput{
			Creator: bootstrapClusterProxy.GetClient(), ClientSet: bootstrapClusterProxy.GetClientSet(),
			Name: clusterName, LogFolder: filepath.Join(artifactFolder, "clusters", "bootstrap")})
		clusterResult = new(clusterctl.ApplyClusterTemplateAndWaitResult)
	})

	AfterEach(func() {
		defer cancelEvents()
		if skipCleanup {
			return
		}
		framework.DeleteAllClustersAndWait(ctx, framework.DeleteAllClustersAndWaitInput{
			ClusterProxy: bootstrapClusterProxy, ClusterctlConfigPath: clusterctlConfigPath, Namespace: namespace.Name,
			ArtifactFolder: artifactFolder}, e2eConfig.GetIntervals("default", "wait-delete-cluster")...)
		framework.DeleteNamespace(ctx, framework.DeleteNamespaceInput{Deleter: bootstrapClusterProxy.GetClient(), Name: namespace.Name})
	})

	It("holds a KCP upgrade until the new members serve, and never lets the serving members go", func() {
		c := bootstrapClusterProxy.GetClient()

		By("CAPI discovers the membergate Runtime Extension")
		Eventually(func(g Gomega) {
			ec := &runtimev1.ExtensionConfig{}
			g.Expect(c.Get(ctx, client.ObjectKey{Name: "membergate"}, ec)).To(Succeed())
			g.Expect(meta.IsStatusConditionTrue(ec.Status.Conditions, runtimev1.ExtensionConfigDiscoveredCondition)).To(BeTrue())
			var names []string
			for _, h := range ec.Status.Handlers {
				names = append(names, h.Name)
			}
			g.Expect(names).To(ContainElements("before-cluster-upgrade.membergate", "after-control-plane-upgrade.membergate"))
		}, e2eConfig.GetIntervals("default", "wait-controllers")...).Should(Succeed())

		By("Creating a ClusterClass cluster with three control-plane Machines")
		clusterctl.ApplyClusterTemplateAndWait(ctx, clusterctl.ApplyClusterTemplateAndWaitInput{
			ClusterProxy: bootstrapClusterProxy,
			ConfigCluster: clusterctl.ConfigClusterInput{
				LogFolder:                filepath.Join(artifactFolder, "clusters", bootstrapClusterProxy.GetName()),
				ClusterctlConfigPath:     clusterctlConfigPath,
				KubeconfigPath:           bootstrapClusterProxy.GetKubeconfigPath(),
				InfrastructureProvider:   "openstack",
				Flavor:                   "membergate",
				Namespace:                namespace.Name,
				ClusterName:              clusterName,
				KubernetesVersion:        e2eConfig.MustGetVariable("KUBERNETES_VERSION"),
				ControlPlaneMachineCount: ptr.To[int64](controlPlaneReplicas),
				WorkerMachineCount:       ptr.To[int64](1),
			},
			WaitForClusterIntervals:      e2eConfig.GetIntervals("default", "wait-cluster"),
			WaitForControlPlaneIntervals: e2eConfig.GetIntervals("default", "wait-control-plane"),
			WaitForMachineDeployments:    e2eConfig.GetIntervals("default", "wait-worker-nodes"),
		}, clusterResult)

		By("The gate sees every control-plane member serve")
		expectSettled(c, namespace.Name, clusterName)

		By("Watching Octavia and the Machines through the upgrade")
		w := startWatch(c, namespace.Name, clusterName)

		By("Upgrading the cluster's Kubernetes version")
		framework.UpgradeClusterTopologyAndWaitForUpgrade(ctx, framework.UpgradeClusterTopologyAndWaitForUpgradeInput{
			ClusterProxy:                         bootstrapClusterProxy,
			Cluster:                              clusterResult.Cluster,
			ControlPlane:                         clusterResult.ControlPlane,
			MachineDeployments:                   clusterResult.MachineDeployments,
			KubernetesUpgradeVersion:             e2eConfig.MustGetVariable("KUBERNETES_VERSION_UPGRADE_TO"),
			WaitForControlPlaneToBeUpgraded:      e2eConfig.GetIntervals("default", "wait-control-plane-upgrade"),
			WaitForMachineDeploymentToBeUpgraded: e2eConfig.GetIntervals("default", "wait-worker-nodes"),
			WaitForKubeProxyUpgrade:              e2eConfig.GetIntervals("default", "wait-machine-upgrade"),
			WaitForDNSUpgrade:                    e2eConfig.GetIntervals("default", "wait-machine-upgrade"),
			WaitForEtcdUpgrade:                   e2eConfig.GetIntervals("default", "wait-machine-upgrade"),
		})
		report := w.stop()

		By("Checking what the watch saw")
		Expect(report.errors).To(BeEmpty(), "Octavia or the API server could not be read during the upgrade")
		// maxSurge 1: a new member must serve before an old one goes, so at
		// least the replica count serves throughout.
		Expect(report.minServing).To(BeNumerically(">=", controlPlaneReplicas), "serving members fell to %d", report.minServing)
		Expect(report.heldDeletions).NotTo(BeEmpty(), "no deleting control-plane Machine was ever held by the gate's hook")
		Expect(report.violations).To(BeEmpty(), "hooks released while another Machine was not member-ready")

		By("After the upgrade: every control-plane Machine member-ready, no orphan member")
		expectSettled(c, namespace.Name, clusterName)
	})
})

// expectSettled waits until the MemberGate reports every control-plane
// Machine member-ready, nothing held and no orphan, and each Machine carries
// the hook and a True LoadBalancerMemberReady condition.
func expectSettled(c client.Client, namespace, cluster string) {
	Eventually(func(g Gomega) {
		mg := &v1alpha1.MemberGate{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: cluster}, mg)).To(Succeed())
		blocking := meta.FindStatusCondition(mg.Status.Conditions, v1alpha1.BlockingCondition)
		g.Expect(blocking).NotTo(BeNil())
		g.Expect(mg.Status.Replicas).To(HaveValue(BeEquivalentTo(controlPlaneReplicas)), blocking.Message)
		g.Expect(mg.Status.MemberReadyReplicas).To(HaveValue(BeEquivalentTo(controlPlaneReplicas)), blocking.Message)
		g.Expect(meta.IsStatusConditionFalse(mg.Status.Conditions, v1alpha1.BlockingCondition)).To(BeTrue(), blocking.Message)
		g.Expect(mg.Status.Orphans).To(BeEmpty())
		g.Expect(mg.Status.LoadBalancer.ProvisioningStatus).To(Equal("ACTIVE"))
		for _, m := range controlPlaneMachines(g, c, namespace, cluster) {
			g.Expect(m.Annotations).To(HaveKeyWithValue(v1alpha1.PreDrainHookAnnotation, v1alpha1.HookOwner), m.Name)
			g.Expect(meta.IsStatusConditionTrue(m.Status.Conditions, v1alpha1.MemberReadyCondition)).To(BeTrue(), m.Name)
		}
	}, e2eConfig.GetIntervals("default", "wait-gate")...).Should(Succeed())
}

func controlPlaneMachines(g Gomega, c client.Client, namespace, cluster string) []clusterv1.Machine {
	var list clusterv1.MachineList
	g.Expect(c.List(ctx, &list, client.InNamespace(namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: cluster},
		client.HasLabels{clusterv1.MachineControlPlaneLabel})).To(Succeed())
	return list.Items
}

// watch polls Octavia's status tree (with the same clouds.yaml CAPO uses)
// and the Machines every few seconds while an upgrade runs.
type watch struct {
	stopCh chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	report watchReport
}

type watchReport struct {
	// minServing is the fewest ACTIVE+ONLINE members seen in the pool.
	minServing int
	// heldDeletions are deleting control-plane Machines seen with the hook.
	heldDeletions map[string]bool
	// violations: a deleting Machine without the hook while the MemberGate
	// said another non-deleting Machine was not member-ready.
	violations []string
	errors     []string
}

func startWatch(c client.Client, namespace, cluster string) *watch {
	osc := &infrav1.OpenStackCluster{}
	cl := &clusterv1.Cluster{}
	Expect(c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: cluster}, cl)).To(Succeed())
	Expect(c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: cl.Spec.InfrastructureRef.Name}, osc)).To(Succeed())
	Expect(osc.Status.APIServerLoadBalancer).NotTo(BeNil(), "the cluster has no API server load balancer")
	lbID := osc.Status.APIServerLoadBalancer.ID
	sc, err := openstackauth.NewLoadBalancerClient(ctx, openstackauth.Options{
		Cloud: e2eConfig.MustGetVariable("OPENSTACK_CLOUD"), CloudsFile: os.Getenv("OPENSTACK_CLOUD_YAML_FILE"), UserAgent: "membergate-e2e"})
	Expect(err).NotTo(HaveOccurred())
	src := memberwait.StatusTree(sc)

	w := &watch{stopCh: make(chan struct{}), done: make(chan struct{}), report: watchReport{minServing: 1 << 30, heldDeletions: map[string]bool{}}}
	go func() {
		defer GinkgoRecover()
		defer close(w.done)
		tick := time.NewTicker(5 * time.Second)
		defer tick.Stop()
		for {
			w.observe(c, src, lbID, namespace, cluster)
			select {
			case <-w.stopCh:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

func (w *watch) observe(c client.Client, src memberwait.Source, lbID, namespace, cluster string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	snap, err := src.Observe(ctx, memberwait.Request{LoadBalancerID: lbID})
	if err != nil {
		w.report.errors = append(w.report.errors, err.Error())
	} else {
		for _, p := range snap.Pools {
			serving := 0
			for _, m := range p.Members {
				if m.ProvisioningStatus == "ACTIVE" && m.OperatingStatus == "ONLINE" {
					serving++
				}
			}
			w.report.minServing = min(w.report.minServing, serving)
		}
	}
	mg := &v1alpha1.MemberGate{}
	var machines clusterv1.MachineList
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: cluster}, mg); err != nil {
		w.report.errors = append(w.report.errors, err.Error())
		return
	}
	if err := c.List(ctx, &machines, client.InNamespace(namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: cluster},
		client.HasLabels{clusterv1.MachineControlPlaneLabel}); err != nil {
		w.report.errors = append(w.report.errors, err.Error())
		return
	}
	notReady := ""
	for _, row := range mg.Status.Machines {
		if !row.Deleting && !row.MemberReady {
			notReady = row.Name
		}
	}
	for _, m := range machines.Items {
		if m.DeletionTimestamp.IsZero() || !m.Status.NodeRef.IsDefined() {
			continue
		}
		if m.Annotations[v1alpha1.PreDrainHookAnnotation] != "" {
			w.report.heldDeletions[m.Name] = true
		} else if notReady != "" && notReady != m.Name {
			w.report.violations = append(w.report.violations, fmt.Sprintf("%s released while %s was not member-ready", m.Name, notReady))
		}
	}
}

func (w *watch) stop() watchReport {
	close(w.stopCh)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.report
}
