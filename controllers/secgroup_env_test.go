package controllers

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	infrav1 "sigs.k8s.io/cluster-api-provider-openstack/api/v1beta1"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/internal/cloud/scope"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
	"github.com/membergate/membergate/pkg/neutrontest"
)

// sgWorld is a world whose nodes have Neutron ports in the emulated
// Neutron, behind a load balancer whose members name their subnet, with
// the identity Secret pointing at both.
type sgWorld struct {
	*world
	neutron  *neutrontest.Server
	subnet   string
	cidr     string
	def      string // the project's default group
	cp       string // a control-plane group, as CAPO's managed groups
	worker   string
	listener string
	members  []string
}

// sgOptions shape an sgWorld.
type sgOptions struct {
	cidr      string   // the nodes' subnet; default 10.6.0.0/24
	machines  int      // control-plane Machines, each with a member
	workers   int      // worker Machines
	cpGroups  []string // "default", "cp": the groups of the control-plane ports
	operating string   // the members' operating status; default ONLINE
	provider  string
	sg        *v1alpha1.SecurityGroupsSpec // nil: unset (Audit)
}

func newSGWorld(t *testing.T, o sgOptions) *sgWorld {
	t.Helper()
	if o.cidr == "" {
		o.cidr = "10.6.0.0/24"
	}
	if o.operating == "" {
		o.operating = "ONLINE"
	}
	w := &sgWorld{world: newWorld(t, 0), neutron: neutrontest.NewServer(), cidr: o.cidr}
	t.Cleanup(w.neutron.Close)
	_, subnets := w.neutron.AddNetwork("nodes", o.cidr)
	w.subnet = subnets[0]
	w.def = w.neutron.DefaultGroup()
	w.cp = w.newGroup("k8s-cluster-test-secgroup-controlplane")
	w.worker = w.newGroup("k8s-cluster-test-secgroup-worker")

	// Neutron's endpoint in the identity Secret's cloud: the emulated
	// Keystone's catalog has Octavia only.
	secret := &corev1.Secret{}
	w.g.Expect(k8sClient.Get(w.ctx, types.NamespacedName{Namespace: w.ns, Name: "cloud-config"}, secret)).To(Succeed())
	secret.Data["clouds.yaml"] = append(secret.Data["clouds.yaml"], []byte("    network_endpoint_override: "+w.neutron.URL+"\n")...)
	w.g.Expect(k8sClient.Update(w.ctx, secret)).To(Succeed())

	pool := &octaviatest.PoolSpec{Name: lbName + "-6443", Monitor: &octaviatest.MonitorSpec{}}
	for i := 0; i < o.machines; i++ {
		pool.Members = append(pool.Members, octaviatest.MemberSpec{Name: fmt.Sprintf("%s-6443-cp-%d", lbName, i), Address: w.addr(i),
			ProtocolPort: 6443, SubnetID: w.subnet, OperatingStatus: o.operating})
	}
	seeded := w.octa.Seed(octaviatest.LoadBalancerSpec{Name: lbName, Provider: o.provider, Listeners: []octaviatest.ListenerSpec{{Port: 6443, Pool: pool}}})
	// The cluster's load balancer from here on: the world's fields name it.
	w.lbID, w.poolID, w.listener, w.members = seeded.LoadBalancerID, seeded.PoolIDs[0], seeded.ListenerIDs[0], seeded.MemberIDs[0]
	osc := &infrav1.OpenStackCluster{}
	w.g.Expect(k8sClient.Get(w.ctx, types.NamespacedName{Namespace: w.ns, Name: "test"}, osc)).To(Succeed())
	osc.Status.APIServerLoadBalancer.ID = w.lbID
	w.g.Expect(k8sClient.Status().Update(w.ctx, osc)).To(Succeed())

	groupsOf := func(names []string) []string {
		var ids []string
		for _, n := range names {
			ids = append(ids, map[string]string{"default": w.def, "cp": w.cp}[n])
		}
		return ids
	}
	for i := 0; i < o.machines; i++ {
		name := fmt.Sprintf("cp-%d", i)
		w.addNode(name, name, w.addr(i), true)
		w.neutron.AddPort(name, w.subnet, w.addr(i), groupsOf(o.cpGroups)...)
	}
	for i := 0; i < o.workers; i++ {
		name, a := fmt.Sprintf("md-%d", i), w.addr(50+i)
		w.addNode(name, name, a, false)
		w.neutron.AddPort(name, w.subnet, a, w.worker)
	}
	mg := &v1alpha1.MemberGate{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "test"},
		Spec: v1alpha1.MemberGateSpec{ClusterName: "test", Mode: v1alpha1.ModeAudit, NoMonitorPolicy: "Fail", SecurityGroups: o.sg}}
	w.g.Expect(k8sClient.Create(w.ctx, mg)).To(Succeed())
	w.r = w.sgReconciler()
	return w
}

// sgReconciler is a fresh controller with security groups on, sharing the
// gate's identity Secrets and budget, as cmd/manager wires it.
func (w *sgWorld) sgReconciler() *GateReconciler {
	r := w.reconciler()
	r.Networks = r.Sources.(*scope.SecretSources)
	return r
}

// addr is the i-th node address in the nodes' subnet.
func (w *sgWorld) addr(i int) string {
	base := strings.TrimSuffix(strings.Split(w.cidr, "/")[0], "0")
	if strings.Contains(w.cidr, ":") {
		return fmt.Sprintf("%s%x", strings.TrimSuffix(base, ":")+":", 0x11+i)
	}
	return fmt.Sprintf("%s%d", base, 11+i)
}

func (w *sgWorld) newGroup(name string) string {
	g, err := groups.Create(w.ctx, w.neutron.ServiceClient(), groups.CreateOpts{Name: name}).Extract()
	w.g.Expect(err).NotTo(HaveOccurred())
	return g.ID
}

// setSG changes the MemberGate's security-group policy.
func (w *sgWorld) setSG(sg *v1alpha1.SecurityGroupsSpec) {
	mg := w.memberGate()
	mg.Spec.SecurityGroups = sg
	w.g.Expect(k8sClient.Update(w.ctx, mg)).To(Succeed())
}

// rules returns a group's rules as Neutron has them.
func (w *sgWorld) rules(group string) []rules.SecGroupRule {
	g, err := groups.Get(w.ctx, w.neutron.ServiceClient(), group).Extract()
	w.g.Expect(err).NotTo(HaveOccurred())
	return g.Rules
}

// ours returns the rules of a group that this cluster's enforcement owns.
func (w *sgWorld) ours(group string) []rules.SecGroupRule {
	var out []rules.SecGroupRule
	for _, r := range w.rules(group) {
		if strings.HasPrefix(r.Description, "membergate "+w.ns+"/test:") {
			out = append(out, r)
		}
	}
	return out
}

// sgCondition is the MemberGate's SecurityGroupsReady condition.
func (w *sgWorld) sgCondition() *metav1.Condition {
	return meta.FindStatusCondition(w.memberGate().Status.Conditions, v1alpha1.SecurityGroupsReadyCondition)
}

// ruleRequests counts the writes of rules Neutron received.
func (w *sgWorld) ruleWrites() int {
	req := w.neutron.Requests()
	return req["POST /v2.0/security-group-rules"] + req["DELETE /v2.0/security-group-rules"]
}

// requestsSince returns the requests Neutron got since before.
func (w *sgWorld) requestsSince(before map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range w.neutron.Requests() {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

func portRange(r rules.SecGroupRule) string {
	if r.PortRangeMin == r.PortRangeMax {
		return fmt.Sprint(r.PortRangeMin)
	}
	return fmt.Sprintf("%d-%d", r.PortRangeMin, r.PortRangeMax)
}
