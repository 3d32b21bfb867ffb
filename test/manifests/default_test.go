package manifests_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	runtimev1 "sigs.k8s.io/cluster-api/api/runtime/v1beta2"

	"github.com/membergate/membergate/test/manifests"
)

// built is config/default as clusterctl installs it: kustomize, then the
// variables' defaults.
func built(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	objs, err := manifests.Build("default", nil)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

func ofKind(objs []*unstructured.Unstructured, kinds ...string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if slices.Contains(kinds, o.GetKind()) {
			out = append(out, o)
		}
	}
	return out
}

// typed converts a built object to its Go type.
func typed[T any](g Gomega, u *unstructured.Unstructured) *T {
	g.ExpectWithOffset(1, u).NotTo(BeNil())
	out := new(T)
	g.ExpectWithOffset(1, runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, out)).To(Succeed())
	return out
}

func sortedStrings(s []string) []string {
	sort.Strings(s)
	return s
}

// TestDefaultContents: every kind the install needs, in one namespace, and
// nothing cluster-scoped that should not be.
func TestDefaultContents(t *testing.T) {
	g := NewWithT(t)
	objs := built(t)
	var got []string
	for _, o := range objs {
		got = append(got, o.GetKind()+"/"+o.GetName())
		switch o.GetKind() {
		case "Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding",
			"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "ExtensionConfig":
			g.Expect(o.GetNamespace()).To(BeEmpty(), "%s/%s is cluster-scoped", o.GetKind(), o.GetName())
		default:
			g.Expect(o.GetNamespace()).To(Equal("membergate-system"), "%s/%s", o.GetKind(), o.GetName())
		}
		g.Expect(o.GetLabels()).To(HaveKeyWithValue("app.kubernetes.io/part-of", "membergate"))
	}
	g.Expect(sortedStrings(got)).To(Equal(sortedStrings([]string{
		"Namespace/membergate-system",
		"CustomResourceDefinition/membergates.membergate.io",
		"ServiceAccount/membergate-manager",
		"ClusterRole/membergate-manager", "ClusterRoleBinding/membergate-manager",
		"Role/membergate-leader-election", "RoleBinding/membergate-leader-election",
		"ClusterRole/membergate-metrics-auth", "ClusterRoleBinding/membergate-metrics-auth",
		"ClusterRole/membergate-metrics-reader",
		"ClusterRole/membergate-cluster-id", "ClusterRoleBinding/membergate-cluster-id",
		"Deployment/membergate-controller-manager",
		"PodDisruptionBudget/membergate-controller-manager", "NetworkPolicy/membergate-controller-manager",
		"Service/membergate-webhook-service", "Service/membergate-extension-service",
		"MutatingWebhookConfiguration/membergate-mutating-webhook-configuration",
		"ValidatingWebhookConfiguration/membergate-validating-webhook-configuration",
		"Issuer/membergate-selfsigned-issuer",
		"Certificate/membergate-webhook-cert", "Certificate/membergate-extension-cert",
		"ExtensionConfig/membergate",
	})))
}

// TestRBACIsLeastPrivilege: no wildcards; Secrets read one by one; Machines
// only patched (annotations, status conditions), never updated or deleted.
func TestRBACIsLeastPrivilege(t *testing.T) {
	g := NewWithT(t)
	objs := built(t)
	rules := map[string][]string{} // "group/resource" -> verbs, over every role
	for _, o := range ofKind(objs, "ClusterRole", "Role") {
		role := typed[rbacv1.ClusterRole](g, o)
		for _, r := range role.Rules {
			for _, field := range [][]string{r.APIGroups, r.Resources, r.Verbs, r.NonResourceURLs, r.ResourceNames} {
				g.Expect(field).NotTo(ContainElement(ContainSubstring("*")), "wildcard in %s/%s", o.GetKind(), o.GetName())
			}
			g.Expect(r.Verbs).NotTo(ContainElements("escalate", "bind", "impersonate"))
			for _, group := range r.APIGroups {
				for _, res := range r.Resources {
					rules[group+"/"+res] = append(rules[group+"/"+res], r.Verbs...)
				}
			}
		}
	}
	g.Expect(rules).To(HaveKeyWithValue("/secrets", []string{"get"}), "Secrets: get only (no list/watch: every cluster's credentials)")
	g.Expect(rules).To(HaveKeyWithValue("/namespaces", []string{"get"}), "namespaces: kube-system's UID names the management cluster")
	idRole := typed[rbacv1.ClusterRole](g, find(objs, "ClusterRole", "membergate-cluster-id"))
	g.Expect(idRole.Rules).To(ConsistOf(HaveField("ResourceNames", []string{"kube-system"})), "one namespace, by name")
	g.Expect(sortedStrings(rules["cluster.x-k8s.io/machines"])).To(Equal([]string{"get", "list", "patch", "watch"}))
	g.Expect(rules).To(HaveKeyWithValue("cluster.x-k8s.io/machines/status", []string{"patch"}))
	// The controllers create and patch their MemberGates; nothing updates them.
	g.Expect(sortedStrings(rules["membergate.io/membergates"])).To(Equal([]string{"create", "get", "list", "patch", "watch"}))
	g.Expect(rules).To(HaveKeyWithValue("membergate.io/membergates/status", []string{"patch"}))
	for res, verbs := range rules {
		if strings.HasPrefix(res, "cluster.x-k8s.io/") || strings.HasPrefix(res, "infrastructure.cluster.x-k8s.io/") ||
			strings.HasPrefix(res, "controlplane.cluster.x-k8s.io/") {
			g.Expect(verbs).NotTo(ContainElements("create", "update", "delete", "deletecollection"), res)
		}
	}

	for _, o := range ofKind(objs, "ClusterRoleBinding", "RoleBinding") {
		b := typed[rbacv1.RoleBinding](g, o)
		g.Expect(b.Subjects).To(ConsistOf(rbacv1.Subject{Kind: "ServiceAccount", Name: "membergate-manager", Namespace: "membergate-system"}))
		g.Expect(find(objs, b.RoleRef.Kind, b.RoleRef.Name)).NotTo(BeNil(), "%s binds a missing %s %s", o.GetName(), b.RoleRef.Kind, b.RoleRef.Name)
	}
}

// arg returns the value of --name=value in args.
func arg(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

// TestManagerDeployment: hardened, and every port, probe, certificate
// directory and Secret agrees with the flags and the other objects.
func TestManagerDeployment(t *testing.T) {
	g := NewWithT(t)
	objs := built(t)
	d := typed[appsv1.Deployment](g, find(objs, "Deployment", "membergate-controller-manager"))
	pod := d.Spec.Template.Spec
	g.Expect(pod.ServiceAccountName).To(Equal("membergate-manager"))
	g.Expect(*pod.SecurityContext.RunAsNonRoot).To(BeTrue())
	g.Expect(pod.SecurityContext.SeccompProfile.Type).To(Equal(corev1.SeccompProfileTypeRuntimeDefault))
	g.Expect(pod.Containers).To(HaveLen(1))
	c := pod.Containers[0]
	g.Expect(*c.SecurityContext.ReadOnlyRootFilesystem).To(BeTrue())
	g.Expect(*c.SecurityContext.AllowPrivilegeEscalation).To(BeFalse())
	g.Expect(*c.SecurityContext.RunAsNonRoot).To(BeTrue())
	g.Expect(c.SecurityContext.Capabilities.Drop).To(ConsistOf(corev1.Capability("ALL")))
	g.Expect(c.Args).NotTo(ContainElement(ContainSubstring("${")), "clusterctl's variables are substituted")
	g.Expect(arg(c.Args, "extension-hooks")).To(Equal("BeforeClusterUpgrade,BeforeControlPlaneUpgrade,AfterControlPlaneUpgrade"))

	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	g.Expect(ports).To(Equal(map[string]int32{"webhook-server": 9443, "extension": 9444, "metrics": 8443, "healthz": 8081}))
	g.Expect(arg(c.Args, "webhook-port")).To(Equal(fmt.Sprint(ports["webhook-server"])))
	g.Expect(arg(c.Args, "extension-port")).To(Equal(fmt.Sprint(ports["extension"])))
	g.Expect(arg(c.Args, "metrics-bind-address")).To(Equal(fmt.Sprintf(":%d", ports["metrics"])))
	g.Expect(arg(c.Args, "health-probe-bind-address")).To(Equal(fmt.Sprintf(":%d", ports["healthz"])))
	g.Expect(c.LivenessProbe.HTTPGet.Path).To(Equal("/healthz"))
	g.Expect(c.ReadinessProbe.HTTPGet.Path).To(Equal("/readyz"))
	g.Expect(c.LivenessProbe.HTTPGet.Port.StrVal).To(Equal("healthz"))
	g.Expect(c.ReadinessProbe.HTTPGet.Port.StrVal).To(Equal("healthz"))

	// Each cert directory is a mount of the Secret its Certificate writes.
	secretOf := map[string]string{}
	for _, v := range pod.Volumes {
		secretOf[v.Name] = v.Secret.SecretName
	}
	mounted := map[string]string{}
	for _, m := range c.VolumeMounts {
		g.Expect(m.ReadOnly).To(BeTrue())
		mounted[m.MountPath] = secretOf[m.Name]
	}
	for flag, cert := range map[string]string{"webhook-cert-dir": "membergate-webhook-cert", "extension-cert-dir": "membergate-extension-cert"} {
		secret, _, _ := unstructured.NestedString(find(objs, "Certificate", cert).Object, "spec", "secretName")
		g.Expect(mounted).To(HaveKeyWithValue(arg(c.Args, flag), secret), "--%s mounts %s's Secret", flag, cert)
	}

	// The Services reach this pod on its named ports.
	for _, name := range []string{"membergate-webhook-service", "membergate-extension-service"} {
		svc := typed[corev1.Service](g, find(objs, "Service", name))
		for k, v := range svc.Spec.Selector {
			g.Expect(d.Spec.Template.Labels).To(HaveKeyWithValue(k, v))
		}
		g.Expect(svc.Spec.Ports).To(HaveLen(1))
		g.Expect(ports).To(HaveKey(svc.Spec.Ports[0].TargetPort.StrVal), "%s targets a port the container names", name)
	}
}

// serviceDNS is <name>.<namespace>.svc, the name in a serving certificate.
func serviceDNS(svc *unstructured.Unstructured) string {
	return svc.GetName() + "." + svc.GetNamespace() + ".svc"
}

// TestCertificatesAndCAInjection: each caller trusts the certificate of the
// Service it calls.
func TestCertificatesAndCAInjection(t *testing.T) {
	g := NewWithT(t)
	objs := built(t)
	webhookSvc, extSvc := find(objs, "Service", "membergate-webhook-service"), find(objs, "Service", "membergate-extension-service")
	for cert, svc := range map[string]*unstructured.Unstructured{"membergate-webhook-cert": webhookSvc, "membergate-extension-cert": extSvc} {
		c := find(objs, "Certificate", cert)
		names, _, _ := unstructured.NestedStringSlice(c.Object, "spec", "dnsNames")
		g.Expect(names).To(ConsistOf(serviceDNS(svc), serviceDNS(svc)+".cluster.local"))
		issuer, _, _ := unstructured.NestedString(c.Object, "spec", "issuerRef", "name")
		g.Expect(find(objs, "Issuer", issuer)).NotTo(BeNil())
	}

	for _, kind := range []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"} {
		o := ofKind(objs, kind)[0]
		g.Expect(o.GetAnnotations()).To(HaveKeyWithValue("cert-manager.io/inject-ca-from", "membergate-system/membergate-webhook-cert"))
		hooks, _, _ := unstructured.NestedSlice(o.Object, "webhooks")
		g.Expect(hooks).To(HaveLen(1))
		svc := hooks[0].(map[string]any)["clientConfig"].(map[string]any)["service"].(map[string]any)
		g.Expect(svc["name"]).To(Equal(webhookSvc.GetName()))
		g.Expect(svc["namespace"]).To(Equal(webhookSvc.GetNamespace()))
	}

	ec := typed[runtimev1.ExtensionConfig](g, find(objs, "ExtensionConfig", "membergate"))
	secret, _, _ := unstructured.NestedString(find(objs, "Certificate", "membergate-extension-cert").Object, "spec", "secretName")
	g.Expect(ec.Annotations).To(HaveKeyWithValue(runtimev1.InjectCAFromSecretAnnotation, "membergate-system/"+secret))
	ref := ec.Spec.ClientConfig.Service
	g.Expect(ref.Name + "." + ref.Namespace + ".svc").To(Equal(serviceDNS(extSvc)))
	extPort, _, _ := unstructured.NestedSlice(extSvc.Object, "spec", "ports")
	g.Expect(int64(*ref.Port)).To(Equal(extPort[0].(map[string]any)["port"]))
	g.Expect(ec.Spec.NamespaceSelector.MatchLabels).To(Equal(map[string]string{"membergate.io/lifecycle-hooks": "enabled"}), "opt-in")
	g.Expect(ec.Spec.NamespaceSelector.MatchExpressions).To(BeEmpty())
}

// TestVariables: clusterctl's variables default, and can be set.
func TestVariables(t *testing.T) {
	g := NewWithT(t)
	objs, err := manifests.Build("default", map[string]string{"MEMBERGATE_EXTENSION_HOOKS": "BeforeClusterUpgrade,AfterControlPlaneUpgrade", "MEMBERGATE_OCTAVIA_QPS": "2"})
	g.Expect(err).NotTo(HaveOccurred())
	d := typed[appsv1.Deployment](g, find(objs, "Deployment", "membergate-controller-manager"))
	args := d.Spec.Template.Spec.Containers[0].Args
	g.Expect(arg(args, "extension-hooks")).To(Equal("BeforeClusterUpgrade,AfterControlPlaneUpgrade"))
	g.Expect(arg(args, "octavia-qps")).To(Equal("2"))
	g.Expect(arg(args, "octavia-burst")).To(Equal("10"))
}

// TestHighAvailability: two replicas under leader election, a disruption
// budget that keeps one, and a NetworkPolicy that admits the webhook,
// extension and metrics ports only, each from whom must reach it.
func TestHighAvailability(t *testing.T) {
	g := NewWithT(t)
	objs := built(t)
	d := typed[appsv1.Deployment](g, find(objs, "Deployment", "membergate-controller-manager"))
	g.Expect(*d.Spec.Replicas).To(Equal(int32(2)))
	g.Expect(arg(d.Spec.Template.Spec.Containers[0].Args, "leader-elect")).To(Equal("true"))
	pdb := typed[policyv1.PodDisruptionBudget](g, find(objs, "PodDisruptionBudget", "membergate-controller-manager"))
	g.Expect(pdb.Spec.MinAvailable.IntValue()).To(Equal(1))
	g.Expect(pdb.Spec.Selector.MatchLabels).To(Equal(d.Spec.Selector.MatchLabels))
	np := typed[networkingv1.NetworkPolicy](g, find(objs, "NetworkPolicy", "membergate-controller-manager"))
	g.Expect(np.Spec.PodSelector.MatchLabels).To(Equal(d.Spec.Selector.MatchLabels))
	var ports []int
	for _, r := range np.Spec.Ingress {
		g.Expect(r.Ports).To(HaveLen(1))
		ports = append(ports, r.Ports[0].Port.IntValue())
	}
	g.Expect(ports).To(ConsistOf(9443, 9444, 8443))
	for _, c := range d.Spec.Template.Spec.Containers[0].Ports {
		if c.Name != "healthz" {
			g.Expect(ports).To(ContainElement(int(c.ContainerPort)), "port %s not admitted", c.Name)
		}
	}
}
