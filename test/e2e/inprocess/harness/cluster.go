package harness

import (
	"cmp"
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	devv1 "sigs.k8s.io/cluster-api/test/infrastructure/docker/api/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
)

// KubernetesVersion is the control plane's version; the in-memory
// infrastructure only reports it.
const KubernetesVersion = "v1.36.3"

// DefaultDrainPeriod is the gated clusters' drain period: the product's
// 30 s would add half a minute per replaced Machine to every scenario.
const DefaultDrainPeriod = 2 * time.Second

// ClusterSpec describes a cluster to create.
type ClusterSpec struct {
	Namespace, Name string
	// Replicas of the control plane; default 3.
	Replicas int32
	// Ungated opts the Cluster out of the gate (membergate.io/skip), to show
	// what happens without it.
	Ungated bool
	// Gate names the gate process that gates the cluster (Harness.StartGate);
	// empty means the default gate. It goes on the DevCluster as
	// GateAnnotation.
	Gate string
	// SettleWindow and AlertAfter go into the MemberGate.
	SettleWindow, AlertAfter time.Duration
	// DrainPeriod goes into the MemberGate: 0 means DefaultDrainPeriod,
	// shrunk as the scenarios shrink Octavia's timings; negative turns
	// draining off (drainPeriod: 0s).
	DrainPeriod time.Duration
	// Startup is how long the in-memory VM takes to provision, and then
	// each of the node, etcd and the API server to start; default 1 s.
	Startup time.Duration
}

// Cluster is a created cluster with its cloud.
type Cluster struct {
	Namespace, Name string
	Cloud           *Cloud
	Gated           bool
	h               *Harness
}

// Key is the Cluster's namespace and name.
func (c *Cluster) Key() types.NamespacedName {
	return types.NamespacedName{Namespace: c.Namespace, Name: c.Name}
}

// CreateCluster creates a Cluster on the Dev (in-memory) infrastructure with
// a KubeadmControlPlane, its load balancer in a new emulator whose members
// start healthy, the identity Secret, and (when gated) its MemberGate. The
// objects are v1beta2 with the defaults CAPI's webhooks would set, as no
// webhooks run here.
func (h *Harness) CreateCluster(ctx context.Context, spec ClusterSpec) (*Cluster, error) {
	if spec.Replicas == 0 {
		spec.Replicas = 3
	}
	if spec.Startup == 0 {
		spec.Startup = time.Second
	}
	ns, name := spec.Namespace, spec.Name
	cloud := newCloud(ns, name)
	cloud.Server.ScriptMembers(octaviatest.MemberMatch{}, Healthy())
	h.clouds.add(types.NamespacedName{Namespace: ns, Name: name}, cloud)
	c := &Cluster{Namespace: ns, Name: name, Cloud: cloud, Gated: !spec.Ungated, h: h}
	devAnnotations := map[string]string{LoadBalancerIDAnnotation: cloud.LoadBalancerID, LoadBalancerNameAnnotation: cloud.LoadBalancerName,
		IdentityAnnotation: name + "-cloud-config"}
	if spec.Gate != "" {
		devAnnotations[GateAnnotation] = spec.Gate
	}

	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-cloud-config"},
			Data: map[string][]byte{"clouds.yaml": []byte(cloud.CloudsYAML()), "cloudName": []byte(CloudName)}},
		devMachineTemplate(ns, name, spec.Startup),
		&devv1.DevCluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: devAnnotations},
			Spec: devv1.DevClusterSpec{Backend: devv1.DevClusterBackendSpec{InMemory: &devv1.InMemoryClusterBackendSpec{}}}},
		kubeadmControlPlane(ns, name, spec.Replicas),
	}
	if c.Gated {
		mg := &v1alpha1.MemberGate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
			Labels: map[string]string{clusterv1.ClusterNameLabel: name}},
			Spec: v1alpha1.MemberGateSpec{ClusterName: name, Mode: v1alpha1.ModeEnforce, NoMonitorPolicy: v1alpha1.NoMonitorFail}}
		if spec.SettleWindow > 0 {
			mg.Spec.SettleWindow = &metav1.Duration{Duration: spec.SettleWindow}
		}
		if spec.AlertAfter > 0 {
			mg.Spec.AlertAfter = &metav1.Duration{Duration: spec.AlertAfter}
		}
		mg.Spec.DrainPeriod = &metav1.Duration{Duration: cmp.Or(max(spec.DrainPeriod, 0), DefaultDrainPeriod)}
		if spec.DrainPeriod < 0 {
			mg.Spec.DrainPeriod.Duration = 0
		}
		objs = append(objs, mg)
	}
	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: clusterv1.ClusterSpec{
			ClusterNetwork: clusterv1.ClusterNetwork{
				Services:      clusterv1.NetworkRanges{CIDRBlocks: []string{"10.128.0.0/12"}},
				Pods:          clusterv1.NetworkRanges{CIDRBlocks: []string{"192.168.0.0/16"}},
				ServiceDomain: "cluster.local",
			},
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: devv1.GroupVersion.Group, Kind: "DevCluster", Name: name},
			ControlPlaneRef:   clusterv1.ContractVersionedObjectReference{APIGroup: controlplanev1.GroupVersion.Group, Kind: "KubeadmControlPlane", Name: name},
		}}
	if spec.Ungated {
		cluster.Annotations = map[string]string{v1alpha1.SkipAnnotation: "true"}
	}
	objs = append(objs, cluster)
	for _, o := range objs {
		if err := h.Client.Create(ctx, o); err != nil {
			return nil, fmt.Errorf("creating %T %s: %w", o, o.GetName(), err)
		}
	}
	return c, nil
}

func devMachineTemplate(ns, name string, startup time.Duration) *devv1.DevMachineTemplate {
	p := devv1.CommonProvisioningSettings{StartupDuration: metav1.Duration{Duration: startup}}
	return &devv1.DevMachineTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-control-plane"},
		Spec: devv1.DevMachineTemplateSpec{Template: devv1.DevMachineTemplateResource{Spec: devv1.DevMachineSpec{
			Backend: devv1.DevMachineBackendSpec{InMemory: &devv1.InMemoryMachineBackendSpec{
				VM:        &devv1.InMemoryVMSpec{Provisioning: p},
				Node:      &devv1.InMemoryNodeSpec{Provisioning: p},
				APIServer: &devv1.InMemoryAPIServerSpec{Provisioning: p},
				Etcd:      &devv1.InMemoryEtcdSpec{Provisioning: p},
			}}}}}}
}

// kubeadmControlPlane is CAPI's in-memory control plane, with what KCP's
// defaulting webhook would add (RollingUpdate, maxSurge 1).
func kubeadmControlPlane(ns, name string, replicas int32) *controlplanev1.KubeadmControlPlane {
	node := bootstrapv1.NodeRegistrationOptions{CRISocket: "unix:///var/run/containerd/containerd.sock"}
	return &controlplanev1.KubeadmControlPlane{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: controlplanev1.KubeadmControlPlaneSpec{
			Replicas: ptr.To(replicas),
			Version:  KubernetesVersion,
			MachineTemplate: controlplanev1.KubeadmControlPlaneMachineTemplate{Spec: controlplanev1.KubeadmControlPlaneMachineTemplateSpec{
				InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: devv1.GroupVersion.Group, Kind: "DevMachineTemplate", Name: name + "-control-plane"},
			}},
			KubeadmConfigSpec: bootstrapv1.KubeadmConfigSpec{
				ClusterConfiguration: bootstrapv1.ClusterConfiguration{APIServer: bootstrapv1.APIServer{CertSANs: []string{"localhost", "127.0.0.1"}}},
				InitConfiguration:    bootstrapv1.InitConfiguration{NodeRegistration: node},
				JoinConfiguration:    bootstrapv1.JoinConfiguration{NodeRegistration: node},
			},
			Rollout: controlplanev1.KubeadmControlPlaneRolloutSpec{Strategy: controlplanev1.KubeadmControlPlaneRolloutStrategy{
				Type:          controlplanev1.RollingUpdateStrategyType,
				RollingUpdate: controlplanev1.KubeadmControlPlaneRolloutStrategyRollingUpdate{MaxSurge: ptr.To(intstr.FromInt32(1))},
			}},
		}}
}

// KubeadmControlPlane reads the cluster's control plane.
func (c *Cluster) KubeadmControlPlane(ctx context.Context) (*controlplanev1.KubeadmControlPlane, error) {
	kcp := &controlplanev1.KubeadmControlPlane{}
	return kcp, c.h.Client.Get(ctx, c.Key(), kcp)
}

// StartRollout replaces every control-plane Machine (KCP's rollout.after),
// with the given maxSurge, and makes new members behave as script says.
func (c *Cluster) StartRollout(ctx context.Context, maxSurge int32, script octaviatest.MemberScript) error {
	c.Cloud.Server.ScriptMembers(octaviatest.MemberMatch{}, script)
	kcp, err := c.KubeadmControlPlane(ctx)
	if err != nil {
		return err
	}
	orig := kcp.DeepCopy()
	kcp.Spec.Rollout.Strategy.RollingUpdate.MaxSurge = ptr.To(intstr.FromInt32(maxSurge))
	kcp.Spec.Rollout.After = metav1.NewTime(time.Now())
	return c.h.Client.Patch(ctx, kcp, client.MergeFrom(orig))
}
