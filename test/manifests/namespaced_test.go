package manifests_test

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/membergate/membergate/test/manifests"
)

// TestNamespacedOverlay: config/namespaced is config/default whose manager
// watches the namespaces its --watch-namespaces lists and may read Secrets
// in exactly those: no cluster-wide grant on Secrets, one Role and
// RoleBinding per watched namespace; everything else as config/default.
func TestNamespacedOverlay(t *testing.T) {
	g := NewWithT(t)
	objs, err := manifests.Build("namespaced", nil)
	g.Expect(err).NotTo(HaveOccurred())
	d := typed[appsv1.Deployment](g, find(objs, "Deployment", "membergate-controller-manager"))
	watched := strings.Split(arg(d.Spec.Template.Spec.Containers[0].Args, "watch-namespaces"), ",")
	g.Expect(watched).To(HaveEach(Not(BeEmpty())), "the manager is given its namespaces")

	// Which namespaces' Secrets the manager may get, from the bindings:
	// "" is every namespace.
	secretsIn := map[string]bool{}
	grantsSecrets := func(kind, namespace, name string) bool {
		role := find(objs, kind, name)
		g.Expect(role).NotTo(BeNil(), "%s %s is bound but missing", kind, name)
		g.Expect(role.GetNamespace()).To(Equal(namespace))
		for _, r := range typed[rbacv1.ClusterRole](g, role).Rules {
			if (len(r.APIGroups) == 0 || r.APIGroups[0] == "") && strings.Contains(strings.Join(r.Resources, ","), "secrets") {
				g.Expect(r.Verbs).To(Equal([]string{"get"}), "%s %s", kind, name)
				return true
			}
		}
		return false
	}
	for _, o := range ofKind(objs, "ClusterRoleBinding", "RoleBinding") {
		b := typed[rbacv1.RoleBinding](g, o)
		roleNS := ""
		if b.RoleRef.Kind == "Role" {
			roleNS = o.GetNamespace()
		}
		if grantsSecrets(b.RoleRef.Kind, roleNS, b.RoleRef.Name) {
			secretsIn[o.GetNamespace()] = true
		}
	}
	g.Expect(secretsIn).NotTo(HaveKey(""), "a cluster-wide grant on Secrets remains")
	g.Expect(secretsIn).To(HaveLen(len(watched)))
	for _, ns := range watched {
		g.Expect(secretsIn).To(HaveKey(ns), "the manager watches %s but may not read its Secrets", ns)
	}

	// The rest is config/default's.
	def := built(t)
	g.Expect(len(objs)).To(Equal(len(def)+2), "config/default's objects and one Role and RoleBinding")
	role := typed[rbacv1.ClusterRole](g, find(objs, "ClusterRole", "membergate-manager"))
	defRole := typed[rbacv1.ClusterRole](g, find(def, "ClusterRole", "membergate-manager"))
	g.Expect(role.Rules).To(Equal(defRole.Rules[1:]), "only the Secrets rule is gone")
}
