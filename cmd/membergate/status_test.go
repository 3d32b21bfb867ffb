package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/internal/statusview"
	"github.com/membergate/membergate/internal/testenv"
)

// The status tests share one real kube-apiserver and etcd (envtest) with
// CAPI's, CAPO's and membergate's CRDs; the other tests of the package do
// not use it.
var (
	kubeCfg   *rest.Config
	envClient client.Client
)

func TestMain(m *testing.M) {
	os.Exit(testenv.RunSuite(m, func(c *rest.Config, cl client.Client) { kubeCfg, envClient = c, cl }, testenv.GateSources...))
}

// gated is one gated cluster in envtest: a Cluster, its control-plane
// Machines (with Nodes and the gate's hook) and a MemberGate whose status
// is the gate's last observation, one serving-or-not member per Machine.
type gated struct {
	t       *testing.T
	g       Gomega
	ns      string
	name    string
	pool    string
	observe time.Time
	rows    []v1alpha1.MachineMembers
}

var statusNamespaces int

func newGated(t *testing.T, ns, name string) *gated {
	t.Helper()
	g := NewWithT(t)
	if ns == "" {
		statusNamespaces++
		ns = fmt.Sprintf("status-%d", statusNamespaces)
		g.Expect(envClient.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	}
	c := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: clusterv1.ClusterSpec{
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: "infrastructure.cluster.x-k8s.io", Kind: "OpenStackCluster", Name: name},
			ControlPlaneRef:   clusterv1.ContractVersionedObjectReference{APIGroup: "controlplane.cluster.x-k8s.io", Kind: "KubeadmControlPlane", Name: name},
		}}
	g.Expect(envClient.Create(context.Background(), c)).To(Succeed())
	return &gated{t: t, g: g, ns: ns, name: name, pool: "pool-6443", observe: epoch.Add(-10 * time.Second)}
}

// machine creates a control-plane Machine with a Node and the gate's hook,
// and its row in the status: a member ACTIVE/ONLINE (serving) or
// PENDING_CREATE/OFFLINE since a minute before the observation.
func (w *gated) machine(name, address string, serving bool, cond metav1.Condition) {
	ctx := context.Background()
	m := &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: name, Finalizers: []string{"test.membergate.io/keep"},
		Labels:      map[string]string{clusterv1.ClusterNameLabel: w.name, clusterv1.MachineControlPlaneLabel: ""},
		Annotations: map[string]string{v1alpha1.PreDrainHookAnnotation: v1alpha1.HookOwner}},
		Spec: clusterv1.MachineSpec{ClusterName: w.name, Bootstrap: clusterv1.Bootstrap{DataSecretName: ptr.To("bootstrap")},
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: "infrastructure.cluster.x-k8s.io", Kind: "OpenStackMachine", Name: name}}}
	w.g.Expect(envClient.Create(ctx, m)).To(Succeed())
	m.Status.NodeRef = clusterv1.MachineNodeReference{Name: name}
	m.Status.Phase = "Running"
	cond.Type, cond.LastTransitionTime = v1alpha1.MemberReadyCondition, metav1.NewTime(w.observe)
	m.Status.Conditions = []metav1.Condition{cond}
	w.g.Expect(envClient.Status().Update(ctx, m)).To(Succeed())

	since := metav1.NewTime(w.observe.Add(-time.Minute))
	mem := v1alpha1.Member{PoolID: w.pool, ID: "member-" + name, Address: address, ProtocolPort: 6443, Since: &since,
		ProvisioningStatus: "PENDING_CREATE", OperatingStatus: "OFFLINE", Message: "member PENDING_CREATE/OFFLINE"}
	if serving {
		mem.ProvisioningStatus, mem.OperatingStatus, mem.Serving, mem.Message = "ACTIVE", "ONLINE", true, "serving"
	}
	w.rows = append(w.rows, v1alpha1.MachineMembers{Name: name, MemberReady: serving, Reason: cond.Reason, Message: cond.Message,
		Members: []v1alpha1.Member{mem}})
}

// deleting deletes a Machine (its finalizer keeps it, as CAPI's would) and
// records it held since heldSince.
func (w *gated) deleting(name string, heldSince time.Time) {
	ctx := context.Background()
	w.g.Expect(envClient.Delete(ctx, &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: name}})).To(Succeed())
	for i := range w.rows {
		if w.rows[i].Name == name {
			t := metav1.NewTime(heldSince)
			w.rows[i].Deleting, w.rows[i].Held, w.rows[i].HeldSince = true, true, &t
		}
	}
}

// memberGate writes the MemberGate and its status; blocking is the Blocking
// condition's message, empty when nothing is held.
func (w *gated) memberGate(blocking string) {
	ctx := context.Background()
	mg := &v1alpha1.MemberGate{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: w.name}, Spec: v1alpha1.MemberGateSpec{ClusterName: w.name}}
	w.g.Expect(envClient.Create(ctx, mg)).To(Succeed())
	checked := metav1.NewTime(w.observe)
	mg.Status = v1alpha1.MemberGateStatus{LastChecked: &checked, Machines: w.rows,
		LoadBalancer: v1alpha1.LoadBalancerStatus{ID: "lb-" + w.name, ProvisioningStatus: "ACTIVE", OperatingStatus: "ONLINE"},
		Conditions: []metav1.Condition{
			{Type: v1alpha1.ReadyCondition, Status: metav1.ConditionTrue, Reason: "Observed", Message: "load balancer observed", LastTransitionTime: checked},
			{Type: v1alpha1.BlockingCondition, Status: metav1.ConditionFalse, Reason: "NotBlocking", LastTransitionTime: checked},
		}}
	if blocking != "" {
		mg.Status.Conditions[1].Status, mg.Status.Conditions[1].Reason, mg.Status.Conditions[1].Message = metav1.ConditionTrue, "RolloutHeld", blocking
	}
	w.g.Expect(envClient.Status().Update(ctx, mg)).To(Succeed())
}

func serving(msg string) metav1.Condition {
	return metav1.Condition{Status: metav1.ConditionTrue, Reason: "MemberServing", Message: msg}
}

func pending(msg string) metav1.Condition {
	return metav1.Condition{Status: metav1.ConditionFalse, Reason: "MemberPending", Message: msg}
}

// rollout is a control-plane rollout midway: cp-0 deleting and held since
// five minutes, cp-1 serving, cp-2 new and PENDING_CREATE.
func rollout(t *testing.T) *gated {
	w := newGated(t, "", "demo")
	w.machine("cp-0", "10.6.0.10", true, serving("held since 2025-03-01T11:55:00Z: pool pool-6443: member ACTIVE/ONLINE"))
	w.machine("cp-1", "10.6.0.11", true, serving("pool pool-6443: member ACTIVE/ONLINE"))
	w.machine("cp-2", "10.6.0.12", false, pending("pool pool-6443: member PENDING_CREATE/OFFLINE"))
	w.deleting("cp-0", epoch.Add(-5*time.Minute))
	w.memberGate("holding cp-0: cp-2 is MemberPending (pool pool-6443: member PENDING_CREATE/OFFLINE)")
	return w
}

// kubeconfig writes a kubeconfig for envtest whose current context has
// namespace ns, and another context, "elsewhere", whose namespace is
// "default".
func kubeconfig(t *testing.T, ns string) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["envtest"] = &clientcmdapi.Cluster{Server: kubeCfg.Host, CertificateAuthorityData: kubeCfg.CAData}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: kubeCfg.CertData, ClientKeyData: kubeCfg.KeyData, Token: kubeCfg.BearerToken}
	cfg.Contexts["test"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "admin", Namespace: ns}
	cfg.Contexts["elsewhere"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "admin", Namespace: "default"}
	cfg.CurrentContext = "test"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// status runs "membergate status" at epoch with the kubeconfig in
// $KUBECONFIG, as kubectl would find it.
func status(t *testing.T, kubeconfig string, args ...string) (int, string, string) {
	t.Helper()
	t.Setenv("KUBECONFIG", kubeconfig)
	var stdout, stderr bytes.Buffer
	c := newCLI(&stdout, &stderr, nil)
	c.clock = clocktesting.NewFakeClock(epoch)
	code := c.run(context.Background(), append([]string{"status"}, args...))
	return code, stdout.String(), stderr.String()
}

// The table names the held Machine, since when and why (the hook and its
// condition), each Machine's member with its statuses and since when, and
// what the gate waits for.
func TestStatusShowsWhoIsHeldAndWhy(t *testing.T) {
	w := rollout(t)
	code, out, errOut := status(t, kubeconfig(t, w.ns), "--cluster", w.ns+"/demo")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	contains(t, "stdout", out,
		"Cluster "+w.ns+"/demo  mode Enforce  load balancer lb-demo ACTIVE/ONLINE  observed 10s ago",
		"Held: cp-0 for 5m0s (since 2025-03-01T11:55:00Z)",
		"  hook:      "+v1alpha1.PreDrainHookAnnotation+"="+v1alpha1.HookOwner,
		"  condition: LoadBalancerMemberReady=True MemberServing: held since 2025-03-01T11:55:00Z",
		"Waiting for: holding cp-0: cp-2 is MemberPending (pool pool-6443: member PENDING_CREATE/OFFLINE)")
	lines := strings.Split(out, "\n")
	NewWithT(t).Expect(strings.Fields(lines[1])).To(Equal([]string{"MACHINE", "PHASE", "HOOK", "POOL", "MEMBER", "STATUSES", "SINCE", "SERVING", "GATE"}))
	NewWithT(t).Expect(strings.Fields(lines[2])).To(Equal([]string{"cp-0", "Deleting", "HELD", "pool-6443", "10.6.0.10:6443", "ACTIVE/ONLINE", "1m10s", "yes", "MemberServing"}))
	NewWithT(t).Expect(strings.Fields(lines[4])).To(Equal([]string{"cp-2", "Running", "hook", "pool-6443", "10.6.0.12:6443", "PENDING_CREATE/OFFLINE", "1m10s", "no", "MemberPending"}))

	// The same as one JSON document.
	code, out, _ = status(t, kubeconfig(t, w.ns), "--cluster", w.ns+"/demo", "-o", "json")
	g := NewWithT(t)
	g.Expect(code).To(BeZero())
	var doc struct{ Clusters []statusview.Cluster }
	g.Expect(json.Unmarshal([]byte(out), &doc)).To(Succeed(), out)
	g.Expect(doc.Clusters).To(HaveLen(1))
	c := doc.Clusters[0]
	g.Expect(c.Blocking).To(BeTrue())
	g.Expect(c.WaitingFor).To(ContainSubstring("cp-2 is MemberPending"))
	g.Expect(c.Machines).To(HaveLen(3))
	g.Expect(c.Machines[0]).To(And(HaveField("Name", "cp-0"), HaveField("Held", true), HaveField("Hooked", true), HaveField("Deleting", true),
		HaveField("HeldSince", HaveValue(BeTemporally("==", epoch.Add(-5*time.Minute))))))
	g.Expect(c.Machines[2].Members).To(ConsistOf(And(HaveField("Serving", false), HaveField("ProvisioningStatus", "PENDING_CREATE"))))
}

// --what-if-delete applies the gate's release rule to its last
// observation: the last serving Machine would be held, waiting for the new
// one; one whose peers serve would be let go. Scripts read the exit code.
func TestStatusWhatIfDelete(t *testing.T) {
	w := rollout(t)
	kc := kubeconfig(t, w.ns)
	code, out, errOut := status(t, kc, "--cluster", "demo", "--what-if-delete", "cp-1")
	if code != exitWouldHold {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitWouldHold, out, errOut)
	}
	contains(t, "stdout", out, "Deleting cp-1 of "+w.ns+"/demo now would be HELD: waiting for cp-2: pool pool-6443")
	NewWithT(t).Expect(out).NotTo(ContainSubstring("Note:"), "a 10 s old observation is fresh")

	calm := newGated(t, w.ns, "calm")
	for i, name := range []string{"calm-a", "calm-b", "calm-c"} {
		calm.machine(name, fmt.Sprintf("10.7.0.%d", 10+i), true, serving("pool pool-6443: member ACTIVE/ONLINE"))
	}
	calm.memberGate("")
	// No --cluster: the Machine names it.
	code, out, errOut = status(t, kc, "--what-if-delete", "calm-a", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	var got statusview.WhatIf
	g := NewWithT(t)
	g.Expect(json.Unmarshal([]byte(out), &got)).To(Succeed(), out)
	g.Expect(got).To(And(HaveField("Cluster", w.ns+"/calm"), HaveField("Machine", "calm-a"), HaveField("Held", false),
		HaveField("Why", "would be released: 2 other control-plane Machine(s) serve: calm-b, calm-c")))

	// An observation older than a hook may trust is said to be.
	code, out, _ = status(t, kc, "--cluster", "calm", "--what-if-delete", "calm-b")
	g.Expect(code).To(BeZero())
	g.Expect(out).To(ContainSubstring("would not be held"))
	var mg v1alpha1.MemberGate
	g.Expect(envClient.Get(context.Background(), client.ObjectKey{Namespace: w.ns, Name: "calm"}, &mg)).To(Succeed())
	late, err := statusview.WhatIfDelete(&mg, nil, machinesOf(t, w.ns, "calm"), "calm-b", epoch.Add(10*time.Minute))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(late.Stale).To(ContainSubstring("10m10s old"))

	// Not a control-plane Machine of the cluster, not gated: not found.
	code, _, errOut = status(t, kc, "--cluster", "calm", "--what-if-delete", "cp-1")
	g.Expect(code).To(Equal(exitNotFound))
	g.Expect(errOut).To(ContainSubstring("machine cp-1: not a control-plane Machine of the cluster " + w.ns + "/calm (it has: calm-a, calm-b, calm-c)"))
	code, _, errOut = status(t, kc, "--cluster", "nope")
	g.Expect(code).To(Equal(exitNotFound))
	g.Expect(errOut).To(ContainSubstring("no MemberGate " + w.ns + "/nope"))
}

func machinesOf(t *testing.T, ns, cluster string) []clusterv1.Machine {
	var list clusterv1.MachineList
	NewWithT(t).Expect(envClient.List(context.Background(), &list, client.InNamespace(ns), client.MatchingLabels{clusterv1.ClusterNameLabel: cluster})).To(Succeed())
	return list.Items
}

// The kubeconfig is read as kubectl reads it: the current context's
// namespace by default, -n and --context over it, -A for every namespace;
// a kubeconfig that does not load is a usage error.
func TestStatusKubeconfigAndNamespaces(t *testing.T) {
	w := rollout(t)
	other := newGated(t, "", "other")
	other.machine("o-0", "10.8.0.10", true, serving("serving"))
	other.memberGate("")
	kc := kubeconfig(t, w.ns)
	g := NewWithT(t)

	_, out, _ := status(t, kc)
	g.Expect(out).To(ContainSubstring("Cluster " + w.ns + "/demo"))
	g.Expect(out).NotTo(ContainSubstring("/other"))
	_, out, _ = status(t, kc, "-n", other.ns)
	g.Expect(out).To(ContainSubstring("Cluster " + other.ns + "/other"))
	g.Expect(out).NotTo(ContainSubstring("/demo"))
	_, out, _ = status(t, kc, "--context", "elsewhere")
	g.Expect(out).To(Equal("No gated cluster (MemberGate) in namespace default.\n"))
	_, out, _ = status(t, kc, "-A")
	g.Expect(out).To(And(ContainSubstring("Cluster "+w.ns+"/demo"), ContainSubstring("Cluster "+other.ns+"/other")))

	code, _, errOut := status(t, filepath.Join(t.TempDir(), "missing"), "--context", "nope")
	g.Expect(code).To(Equal(exitUsage))
	g.Expect(errOut).To(ContainSubstring("loading the kubeconfig"))
	code, _, _ = status(t, kc, "-A", "--cluster", "demo")
	g.Expect(code).To(Equal(exitUsage))
}

// Run as kubectl-membergate (kubectl's plugin for "kubectl membergate"), the
// help says so.
func TestKubectlPluginName(t *testing.T) {
	var stdout bytes.Buffer
	c := newCLI(&stdout, &bytes.Buffer{}, nil)
	c.argv0 = "/usr/local/bin/kubectl-membergate"
	NewWithT(t).Expect(c.run(context.Background(), []string{"status", "--help"})).To(BeZero())
	contains(t, "help", stdout.String(), "Usage:\n  kubectl membergate status [--cluster")
	NewWithT(t).Expect(pluginName("membergate")).To(Equal("membergate"))
	NewWithT(t).Expect(pluginName("/opt/bin/kubectl-membergate.exe")).To(Equal("kubectl membergate"))
}
