package kind

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	infrav1 "sigs.k8s.io/cluster-api-provider-openstack/api/v1beta1"
	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/cmd/clusterctl/client/yamlprocessor"
	"sigs.k8s.io/cluster-api/test/framework/clusterctl"
	"sigs.k8s.io/yaml"

	"github.com/membergate/membergate/test/manifests"
)

// TestE2EConfigIsValid checks the suite's configuration offline, so a
// broken file is found by `make test` and not after a kind cluster is up:
// it parses as Cluster API's E2EConfig, passes its validation, and every
// file it names exists.
func TestE2EConfigIsValid(t *testing.T) {
	g := NewWithT(t)
	path := filepath.Join("config", "membergate.yaml")
	data, err := os.ReadFile(path)
	g.Expect(err).NotTo(HaveOccurred())
	cfg := &clusterctl.E2EConfig{}
	g.Expect(yaml.UnmarshalStrict(data, cfg)).To(Succeed())
	cfg.Defaults()
	abs, err := filepath.Abs(filepath.Dir(path))
	g.Expect(err).NotTo(HaveOccurred())
	cfg.AbsPaths(abs)
	g.Expect(cfg.Validate()).To(Succeed())

	g.Expect(cfg.RuntimeExtensionProviders()).To(ConsistOf("membergate"))
	g.Expect(cfg.InfrastructureProviders()).To(ConsistOf("openstack"))
	for _, p := range cfg.Providers {
		for _, v := range p.Versions {
			if v.Type == clusterctl.KustomizeSource {
				g.Expect(filepath.Join(v.Value, "kustomization.yaml")).To(BeAnExistingFile(), "%s %s", p.Name, v.Name)
			}
			for _, f := range v.Files {
				g.Expect(f.SourcePath).To(BeAnExistingFile(), "%s %s", p.Name, v.Name)
			}
		}
	}
	for _, v := range []string{"KUBERNETES_VERSION", "KUBERNETES_VERSION_UPGRADE_TO", "KUBERNETES_VERSION_MANAGEMENT",
		"CLUSTER_TOPOLOGY", "EXP_RUNTIME_SDK", "OPENSTACK_CLOUD", "CNI_PATH", "MEMBERGATE_EXTENSION_HOOKS"} {
		g.Expect(cfg.Variables).To(HaveKey(v))
	}
	for _, i := range []string{"wait-controllers", "wait-cluster", "wait-control-plane", "wait-worker-nodes",
		"wait-control-plane-upgrade", "wait-machine-upgrade", "wait-gate", "wait-delete-cluster"} {
		g.Expect(cfg.Intervals).To(HaveKey("default/"+i), "the specs use it")
	}
}

// TestClusterTemplate renders the flavor as clusterctl does and decodes the
// Cluster API objects strictly, so a misspelt field fails here rather than
// being pruned by the API server during an e2e run.
func TestClusterTemplate(t *testing.T) {
	g := NewWithT(t)
	tmpl, err := os.ReadFile(filepath.Join("data", "cluster-template-membergate.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	// The suite's repository transformation puts the CNI manifest here.
	tmpl = []byte(strings.ReplaceAll(string(tmpl), "data: ${CNI_RESOURCES}", "data: {resources: \"\"}"))
	p := yamlprocessor.NewSimpleProcessor()
	vars, err := p.GetVariables(tmpl)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(vars).To(ContainElements("CLUSTER_NAME", "KUBERNETES_VERSION", "OPENSTACK_IMAGE_NAME_PREFIX", "OPENSTACK_CLOUD_YAML_B64"))
	out, err := p.Process(tmpl, func(name string) (string, error) {
		switch name {
		case "CONTROL_PLANE_MACHINE_COUNT", "WORKER_MACHINE_COUNT":
			return "3", nil
		case "KUBERNETES_VERSION":
			return "v1.32.8", nil
		}
		return "e2e", nil
	})
	g.Expect(err).NotTo(HaveOccurred())
	objs, err := manifests.Decode(out)
	g.Expect(err).NotTo(HaveOccurred())
	kinds := map[string]bool{}
	for _, o := range objs {
		kinds[o.GetKind()] = true
		raw, err := o.MarshalJSON()
		g.Expect(err).NotTo(HaveOccurred())
		var typed any
		switch o.GetKind() {
		case "ClusterClass":
			typed = &clusterv1.ClusterClass{}
		case "Cluster":
			typed = &clusterv1.Cluster{}
		case "KubeadmControlPlaneTemplate":
			typed = &controlplanev1.KubeadmControlPlaneTemplate{}
		case "KubeadmConfigTemplate":
			typed = &bootstrapv1.KubeadmConfigTemplate{}
		case "OpenStackClusterTemplate":
			typed = &infrav1.OpenStackClusterTemplate{}
		case "OpenStackMachineTemplate":
			typed = &infrav1.OpenStackMachineTemplate{}
		default:
			continue
		}
		g.Expect(yaml.UnmarshalStrict(raw, typed)).To(Succeed(), "%s %s", o.GetKind(), o.GetName())
	}
	g.Expect(kinds).To(HaveLen(9))
}
