package controllers

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	infrav1 "sigs.k8s.io/cluster-api-provider-openstack/api/v1beta1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/internal/cloud/scope"
	managerscheme "github.com/membergate/membergate/internal/scheme"
	"github.com/membergate/membergate/internal/testenv"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
)

// BenchmarkHungCloud measures what one cloud that never answers costs the
// clusters of the others: 50 clusters on 5 clouds (10 each, two
// control-plane Machines with serving members), the real controller in a
// manager with the default concurrency, started once all exist. It reports
// when each healthy cloud's cluster got its first decision (its MemberGate
// shows what Octavia said), with the fifth cloud answering and with it
// hung (a Keystone and Octavia that accept connections and never answer),
// and the difference at p50 and p99; and the memory of the test process
// (the manager, the emulators and the test's client together) once the
// hung run's answering clusters are decided: heap in use after a GC, what
// the Go runtime holds from the OS, and the resident set.
//
//	KUBEBUILDER_ASSETS=$(hack/envtest/build.sh) go test ./controllers -run '^$' -bench HungCloud -benchtime 1x
func BenchmarkHungCloud(b *testing.B) {
	for range b.N {
		base, _ := hungCloudRun(b, "base", false)
		hung, mem := hungCloudRun(b, "hung", true)
		b.ReportMetric(pct(base, 50).Seconds(), "s-p50-answering")
		b.ReportMetric(pct(base, 99).Seconds(), "s-p99-answering")
		b.ReportMetric(pct(hung, 50).Seconds(), "s-p50-with-one-hung")
		b.ReportMetric(pct(hung, 99).Seconds(), "s-p99-with-one-hung")
		b.ReportMetric((pct(hung, 99) - pct(base, 99)).Seconds(), "s-p99-added")
		b.ReportMetric(mem.heapInuse, "MiB-heap-inuse")
		b.ReportMetric(mem.sys, "MiB-go-sys")
		b.ReportMetric(mem.rss, "MiB-rss")
	}
}

func pct(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)*p+99)/100-1]
}

// memory is what the process holds, in MiB.
type memory struct{ heapInuse, sys, rss float64 }

// measureMemory reads the heap in use after a collection (what is live, not
// what awaits the collector), the bytes the Go runtime got from the OS, and
// the resident set from /proc/self/status (VmRSS).
func measureMemory(b *testing.B) memory {
	b.Helper()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	const mib = 1 << 20
	m := memory{heapInuse: float64(ms.HeapInuse) / mib, sys: float64(ms.Sys) / mib}
	status, err := os.ReadFile("/proc/self/status")
	must(b, err)
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			must(b, err)
			m.rss = kb / 1024
		}
	}
	if m.rss == 0 {
		b.Fatal("no VmRSS in /proc/self/status")
	}
	return m
}

// hungCloudRun returns, for the 40 clusters of the four answering clouds,
// how long after the manager started each got its first decision, and the
// memory of the process once they all have, the manager still running.
func hungCloudRun(b *testing.B, run string, hang bool) ([]time.Duration, memory) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const clouds, perCloud, machines = 5, 10, 2
	var keystone []string
	var octavias []*octaviatest.Server
	for range clouds - 1 {
		o := octaviatest.NewServer(octaviatest.Options{Users: testenv.Users()})
		defer o.Close()
		octavias = append(octavias, o)
		keystone = append(keystone, o.KeystoneURL())
	}
	if hang {
		release := make(chan struct{})
		h := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer h.Close()
		defer close(release)
		keystone = append(keystone, h.URL+"/identity/v3")
	} else {
		o := octaviatest.NewServer(octaviatest.Options{Users: testenv.Users()})
		defer o.Close()
		octavias = append(octavias, o)
		keystone = append(keystone, o.KeystoneURL())
	}

	benchRuns++
	var healthy []types.NamespacedName
	for i := range clouds * perCloud {
		cloud := i % clouds
		ns := fmt.Sprintf("bench-%s-%d-%d", run, benchRuns, i)
		must(b, k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
		lbID := "5d1c1e4a-0000-4000-8000-00000000dead"
		if cloud < len(octavias) {
			pool := &octaviatest.PoolSpec{Name: lbName + "-6443", Monitor: &octaviatest.MonitorSpec{Type: "TCP", Delay: 10, Timeout: 5, MaxRetries: 5, MaxRetriesDown: 3}}
			for m := range machines {
				pool.Members = append(pool.Members, octaviatest.MemberSpec{Name: fmt.Sprintf("%s-6443-cp-%d", lbName, m), Address: addr(m), ProtocolPort: 6443, OperatingStatus: "ONLINE"})
			}
			lbID = octavias[cloud].Seed(octaviatest.LoadBalancerSpec{Name: lbName, Listeners: []octaviatest.ListenerSpec{{Port: 6443, Pool: pool}}}).LoadBalancerID
		}
		// The same 40 clusters are timed in both runs: those of the clouds
		// that always answer.
		if cloud < clouds-1 {
			healthy = append(healthy, types.NamespacedName{Namespace: ns, Name: "test"})
		}
		must(b, k8sClient.Create(ctx, testenv.IdentitySecret(ns, testenv.CloudsYAML(keystone[cloud], ""))))
		osc := &infrav1.OpenStackCluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "test"},
			Spec: infrav1.OpenStackClusterSpec{IdentityRef: infrav1.OpenStackIdentityReference{Name: testenv.IdentitySecretName, CloudName: testenv.CloudName}}}
		must(b, k8sClient.Create(ctx, osc))
		osc.Status.APIServerLoadBalancer = &infrav1.LoadBalancer{Name: lbName, ID: lbID}
		must(b, k8sClient.Status().Update(ctx, osc))
		must(b, k8sClient.Create(ctx, &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "test"},
			Spec: clusterv1.ClusterSpec{
				InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.SchemeGroupVersion.Group, Kind: "OpenStackCluster", Name: "test"},
				ControlPlaneRef:   clusterv1.ContractVersionedObjectReference{APIGroup: "controlplane.cluster.x-k8s.io", Kind: "KubeadmControlPlane", Name: "test"},
			}}))
		for m := range machines {
			name := fmt.Sprintf("cp-%d", m)
			mc := &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
				Labels: map[string]string{clusterv1.ClusterNameLabel: "test", clusterv1.MachineControlPlaneLabel: ""}},
				Spec: clusterv1.MachineSpec{ClusterName: "test", Bootstrap: clusterv1.Bootstrap{DataSecretName: ptr.To("bootstrap")},
					InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.SchemeGroupVersion.Group, Kind: "OpenStackMachine", Name: name}}}
			must(b, k8sClient.Create(ctx, mc))
			mc.Status.NodeRef = clusterv1.MachineNodeReference{Name: "node-" + name}
			mc.Status.Addresses = clusterv1.MachineAddresses{{Type: clusterv1.MachineInternalIP, Address: addr(m)}}
			must(b, k8sClient.Status().Update(ctx, mc))
		}
	}

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: managerscheme.New(), Metrics: metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0", Controller: config.Controller{SkipNameValidation: ptr.To(true)}})
	must(b, err)
	r := &GateReconciler{Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder("membergate"), Concurrency: 8,
		Sources: &scope.SecretSources{Client: mgr.GetAPIReader(), Budget: rate.Inf}}
	must(b, r.SetupWithManager(mgr))
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	defer func() { cancel(); <-done }()

	decided := map[types.NamespacedName]time.Duration{}
	for len(decided) < len(healthy) {
		if time.Since(start) > 3*time.Minute {
			b.Fatalf("%s: %d of %d answering clusters decided after 3 min", run, len(decided), len(healthy))
		}
		for _, key := range healthy {
			if _, ok := decided[key]; ok {
				continue
			}
			var mg v1alpha1.MemberGate
			if err := k8sClient.Get(ctx, key, &mg); err == nil && mg.Status.LoadBalancer.ProvisioningStatus != "" {
				decided[key] = time.Since(start)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	mem := measureMemory(b)
	out := make([]time.Duration, 0, len(decided))
	for _, d := range decided {
		out = append(out, d)
	}
	b.Logf("%s: %d answering clusters decided; p50 %s, p99 %s; heap in use %.1f MiB, Go sys %.1f MiB, RSS %.1f MiB", run, len(out),
		pct(out, 50).Round(time.Millisecond), pct(out, 99).Round(time.Millisecond), mem.heapInuse, mem.sys, mem.rss)
	return out, mem
}

// benchRuns numbers the runs, so that each has namespaces of its own.
var benchRuns int

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}
