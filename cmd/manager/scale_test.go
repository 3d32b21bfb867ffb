package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	infrav1 "sigs.k8s.io/cluster-api-provider-openstack/api/v1beta1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
	"github.com/membergate/membergate/pkg/neutrontest"
)

// scaleConfig is one run of the manager at scale.
type scaleConfig struct {
	name     string
	clusters int
	clouds   int
	// workers are the worker Machines of each cluster, beside its three
	// control-plane Machines: the manager must not pay for them.
	workers int
	// idleWindow is how long the idle cluster's requests are counted.
	idleWindow time.Duration
	// rolling is every how many clusters one rolls its control plane; 0
	// rolls none.
	rolling int
	// args are the manager's flags, after those every run needs.
	args []string
	// prepare, when set, changes the parsed options (tests shorten the
	// idle resync below what the flag accepts).
	prepare func(*options)
	// settle is how long the first reconciles' echoes are let die down
	// before counting; 0 means 15s.
	settle time.Duration
	// labels, when set, labels the i-th Cluster.
	labels func(i int) map[string]string
}

// scaleFigures are what a run measured.
type scaleFigures struct {
	clusters                   int
	idleWindow                 time.Duration
	idleOctavia, idleStatus    int
	idleNeutron, idleAPIServer int
	// idleOctaviaKinds and idleAPIKinds say what the idle Octavia (and
	// Keystone) and kube-apiserver requests were.
	idleOctaviaKinds, idleNeutronKinds string
	// idlePasses are the security-group passes in the idle window: each
	// reads the cluster's ports once.
	idlePasses               int
	idleAPIKinds             string
	idleCPU, idleReconcile   time.Duration
	rollWindow               time.Duration
	rolled                   int
	rollOctavia, rollNeutron int
	latencies                []time.Duration
	heapBase, heapRun        uint64
	rssBase, rssRun          uint64
	startup                  time.Duration
}

const scaleLB = "k8s-clusterapi-cluster-test-kubeapi"

func scaleAddr(i int) string { return fmt.Sprintf("10.0.0.%d", 10+i) }

// scaleRuns numbers the runs of one process, so that each has namespaces of
// its own.
var scaleRuns atomic.Int32

// cloud is one emulated OpenStack: Keystone and Octavia, and Neutron.
type cloud struct {
	octavia *octaviatest.Server
	neutron *neutrontest.Server
}

// scaleCluster is one CAPO cluster of a run.
type scaleCluster struct {
	ns     string
	labels map[string]string
	cloud  *cloud
	poolID string
	// subnet is the nodes' subnet, on a network of the cluster's own.
	subnet string
}

// runScale builds c.clusters CAPO clusters spread over c.clouds emulated
// clouds (three serving control-plane members each), starts the manager
// with its own wiring (newManager, as the binary does) on a rest.Config
// that counts its requests, waits for every cluster to be gated, then
// counts what the idle clusters cost for idleWindow and what a rollout of
// every c.rolling-th cluster costs and how fast each is released.
func runScale(tb testing.TB, c scaleConfig) scaleFigures {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	run := scaleRuns.Add(1)
	clouds := make([]*cloud, c.clouds)
	for i := range clouds {
		cl := &cloud{octavia: octaviatest.NewServer(octaviatest.Options{Users: map[string]string{"capo": "s3cret"}}), neutron: neutrontest.NewServer()}
		defer cl.octavia.Close()
		defer cl.neutron.Close()
		clouds[i] = cl
	}
	clusters := make([]scaleCluster, c.clusters)
	var wg sync.WaitGroup
	errs := make(chan error, c.clusters)
	sem := make(chan struct{}, 8)
	for i := range clusters {
		cl := clouds[i%len(clouds)]
		clusters[i] = scaleCluster{ns: fmt.Sprintf("scale-%s-%d-%d", c.name, run, i), cloud: cl}
		if c.labels != nil {
			clusters[i].labels = c.labels(i)
		}
		wg.Add(1)
		go func(sc *scaleCluster) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := createScaleCluster(ctx, sc, c.workers); err != nil {
				errs <- err
			}
		}(&clusters[i])
	}
	created := time.Now()
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
	progress("%d clusters created in %s", c.clusters, time.Since(created).Round(time.Second))

	args := append([]string{"--leader-elect=false", "--metrics-bind-address=0", "--health-probe-bind-address=0",
		"--enable-webhooks=false", "--enable-extension=false", "--management-cluster-id=scale", "--octavia-qps=1000", "--octavia-burst=1000"}, c.args...)
	o, err := parse(args)
	if err != nil {
		tb.Fatal(err)
	}
	o.skipNameValidation = true
	if c.prepare != nil {
		c.prepare(o)
	}
	apiRequests := &apiCounter{}
	counted := rest.CopyConfig(cfg)
	counted.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			apiRequests.add(r)
			return rt.RoundTrip(r)
		})
	})

	f := scaleFigures{clusters: c.clusters, idleWindow: c.idleWindow}
	f.heapBase, f.rssBase = memory()
	start := time.Now()
	mgrCtx, stop := context.WithCancel(ctx)
	mgr, err := newManager(mgrCtx, counted, o)
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mgrCtx) }()
	defer func() { stop(); <-done }()

	// Gated: every cluster's MemberGate shows what Octavia said and every
	// control-plane Machine carries the hook.
	// Listing every MemberGate is the kube-apiserver's heaviest request
	// here: asked every 2 s, not more often, it leaves the server to the
	// manager being measured.
	waitFor(tb, 40*time.Minute, 2*time.Second, "every cluster gated", func() bool { return gated(ctx, tb, clusters) })
	f.startup = time.Since(start)
	n, kinds := apiRequests.since(nil)
	progress("%d clusters gated in %s, %d kube-apiserver requests: %s", c.clusters, f.startup.Round(time.Second), n, kinds)
	// The first reconciles' echoes (the MemberGate's creation, the first
	// security-group pass) die down.
	if c.settle == 0 {
		c.settle = 15 * time.Second
	}
	time.Sleep(c.settle)
	f.heapRun, f.rssRun = memory()
	if path := os.Getenv("MEMBERGATE_SCALE_HEAPPROFILE"); path != "" {
		out, err := os.Create(path)
		if err != nil {
			tb.Fatal(err)
		}
		if err := pprof.WriteHeapProfile(out); err != nil {
			tb.Fatal(err)
		}
		_ = out.Close()
	}

	ops0, nops0 := octaviaOps(clouds), neutronOps(clouds)
	oct0, st0, neu0, api0 := octaviaRequests(clouds), statusRequests(clouds), neutronRequests(clouds), apiRequests.snapshot()
	cpu0, rec0 := cpuTime(), reconcileTime(tb)
	progress("counting idle for %s", c.idleWindow)
	time.Sleep(c.idleWindow)
	f.idleOctavia = octaviaRequests(clouds) - oct0
	f.idleOctaviaKinds = kindsSince(octaviaOps(clouds), ops0)
	f.idleNeutronKinds = kindsSince(neutronOps(clouds), nops0)
	f.idlePasses = neutronOps(clouds)["GET /v2.0/ports"] - nops0["GET /v2.0/ports"]
	f.idleStatus = statusRequests(clouds) - st0
	f.idleNeutron = neutronRequests(clouds) - neu0
	f.idleAPIServer, f.idleAPIKinds = apiRequests.since(api0)
	f.idleCPU, f.idleReconcile = cpuTime()-cpu0, reconcileTime(tb)-rec0

	if c.rolling > 0 {
		progress("rolling one cluster in %d", c.rolling)
		f.roll(ctx, tb, clusters, c.rolling, clouds)
	}
	return f
}

// roll replaces cp-0 with cp-3 in every every-th cluster, as KCP does: a
// new Machine and its member (not yet serving), the old Machine deleted
// and held by the gate; then every new member turns ONLINE at once, and
// each cluster's latency is from then until cp-0's hook is gone.
func (f *scaleFigures) roll(ctx context.Context, tb testing.TB, clusters []scaleCluster, every int, clouds []*cloud) {
	oct0, neu0 := octaviaRequests(clouds), neutronRequests(clouds)
	start := time.Now()
	var rolling []scaleCluster
	var members []string
	for i := 0; i < len(clusters); i += every {
		sc := clusters[i]
		sc.cloud.neutron.AddPort(sc.ns+"-cp-3", sc.subnet, scaleAddr(3), sc.cloud.neutron.DefaultGroup())
		m, err := pools.CreateMember(ctx, sc.cloud.octavia.ServiceClient(), sc.poolID, pools.CreateMemberOpts{
			Name: fmt.Sprintf("%s-6443-cp-3", scaleLB), Address: scaleAddr(3), ProtocolPort: 6443, SubnetID: sc.subnet}).Extract()
		if err != nil {
			tb.Fatal(err)
		}
		if err := sc.cloud.octavia.SetMemberStatus(m.ID, "ACTIVE", "OFFLINE"); err != nil {
			tb.Fatal(err)
		}
		if err := createMachine(ctx, sc.ns, "cp-3", scaleAddr(3), true); err != nil {
			tb.Fatal(err)
		}
		// The figure is the gate's decision latency: the drain, a
		// deliberate 30 s pause after the decision, is left out.
		var mg v1alpha1.MemberGate
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: sc.ns, Name: "test"}, &mg); err != nil {
			tb.Fatal(err)
		}
		// A patch, not an update: the manager writes the MemberGate too.
		orig := mg.DeepCopy()
		mg.Spec.DrainPeriod = &metav1.Duration{}
		if err := k8sClient.Patch(ctx, &mg, client.MergeFrom(orig)); err != nil {
			tb.Fatal(err)
		}
		old := &clusterv1.Machine{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: sc.ns, Name: "cp-0"}, old); err != nil {
			tb.Fatal(err)
		}
		if err := k8sClient.Delete(ctx, old); err != nil {
			tb.Fatal(err)
		}
		rolling = append(rolling, sc)
		members = append(members, m.ID)
	}
	waitFor(tb, 5*time.Minute, time.Second, "every rolling cluster held", func() bool {
		for _, sc := range rolling {
			var mg v1alpha1.MemberGate
			if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: sc.ns, Name: "test"}, &mg); err != nil ||
				!meta.IsStatusConditionTrue(mg.Status.Conditions, v1alpha1.BlockingCondition) {
				return false
			}
		}
		return true
	})
	serving := time.Now()
	for i, sc := range rolling {
		if err := sc.cloud.octavia.SetMemberStatus(members[i], "", "ONLINE"); err != nil {
			tb.Fatal(err)
		}
	}
	released := map[string]time.Duration{}
	// A release is timed to within the poll, 500 ms, against a settle
	// window of tens of seconds.
	waitFor(tb, 10*time.Minute, 500*time.Millisecond, "every rolling cluster released", func() bool {
		for _, sc := range rolling {
			if _, ok := released[sc.ns]; ok {
				continue
			}
			m := &clusterv1.Machine{}
			if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: sc.ns, Name: "cp-0"}, m); err == nil && m.Annotations[v1alpha1.PreDrainHookAnnotation] == "" {
				released[sc.ns] = time.Since(serving)
			}
		}
		return len(released) == len(rolling)
	})
	f.rollWindow = time.Since(start)
	f.rolled = len(rolling)
	f.rollOctavia, f.rollNeutron = octaviaRequests(clouds)-oct0, neutronRequests(clouds)-neu0
	for _, d := range released {
		f.latencies = append(f.latencies, d)
	}
	slices.Sort(f.latencies)
}

// createScaleCluster creates one CAPO cluster: its identity Secret, the
// OpenStackCluster with the API server load balancer in its status, the
// Cluster, three control-plane Machines with serving members and the
// worker Machines.
func createScaleCluster(ctx context.Context, sc *scaleCluster, workers int) error {
	// The nodes' network, their ports in the cloud's default group: the
	// security-group pass finds what it looks for, as on a real cloud.
	network, subnets := sc.cloud.neutron.AddNetwork("nodes-"+sc.ns, "10.0.0.0/24")
	sc.subnet = subnets[0]
	pool := &octaviatest.PoolSpec{Name: scaleLB + "-6443", Monitor: &octaviatest.MonitorSpec{Type: "TCP", Delay: 10, Timeout: 5, MaxRetries: 5, MaxRetriesDown: 3}}
	for m := range 3 {
		pool.Members = append(pool.Members, octaviatest.MemberSpec{Name: fmt.Sprintf("%s-6443-cp-%d", scaleLB, m), Address: scaleAddr(m), ProtocolPort: 6443,
			SubnetID: sc.subnet, OperatingStatus: "ONLINE"})
		sc.cloud.neutron.AddPort(fmt.Sprintf("%s-cp-%d", sc.ns, m), sc.subnet, scaleAddr(m), sc.cloud.neutron.DefaultGroup())
	}
	seeded := sc.cloud.octavia.Seed(octaviatest.LoadBalancerSpec{Name: scaleLB, Listeners: []octaviatest.ListenerSpec{{Port: 6443, Pool: pool}}})
	sc.poolID = seeded.PoolIDs[0]
	clouds := fmt.Sprintf("clouds:\n  openstack:\n    auth: {auth_url: %s, username: capo, password: s3cret, project_name: capo, user_domain_name: Default, project_domain_name: Default}\n    region_name: RegionOne\n    network_endpoint_override: %s\n",
		sc.cloud.octavia.KeystoneURL(), sc.cloud.neutron.URL)
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: sc.ns}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: sc.ns, Name: "cloud-config"}, Data: map[string][]byte{"clouds.yaml": []byte(clouds)}},
	}
	for _, o := range objs {
		if err := k8sClient.Create(ctx, o); err != nil {
			return err
		}
	}
	osc := &infrav1.OpenStackCluster{ObjectMeta: metav1.ObjectMeta{Namespace: sc.ns, Name: "test", Labels: map[string]string{clusterv1.ClusterNameLabel: "test"}},
		Spec: infrav1.OpenStackClusterSpec{IdentityRef: infrav1.OpenStackIdentityReference{Name: "cloud-config", CloudName: "openstack"}}}
	if err := k8sClient.Create(ctx, osc); err != nil {
		return err
	}
	osc.Status.APIServerLoadBalancer = &infrav1.LoadBalancer{Name: scaleLB, ID: seeded.LoadBalancerID, IP: "192.0.2.10", InternalIP: "10.0.0.2"}
	osc.Status.Network = &infrav1.NetworkStatusWithSubnets{NetworkStatus: infrav1.NetworkStatus{ID: network, Name: "nodes-" + sc.ns}}
	if err := k8sClient.Status().Update(ctx, osc); err != nil {
		return err
	}
	if err := k8sClient.Create(ctx, &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: sc.ns, Name: "test", Labels: sc.labels},
		Spec: clusterv1.ClusterSpec{
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.SchemeGroupVersion.Group, Kind: "OpenStackCluster", Name: "test"},
			ControlPlaneRef:   clusterv1.ContractVersionedObjectReference{APIGroup: "controlplane.cluster.x-k8s.io", Kind: "KubeadmControlPlane", Name: "test"},
		}}); err != nil {
		return err
	}
	for m := range 3 {
		if err := createMachine(ctx, sc.ns, fmt.Sprintf("cp-%d", m), scaleAddr(m), true); err != nil {
			return err
		}
	}
	for w := range workers {
		if err := createMachine(ctx, sc.ns, fmt.Sprintf("worker-%d", w), fmt.Sprintf("10.0.1.%d", 10+w), false); err != nil {
			return err
		}
	}
	return nil
}

// createMachine creates a Machine with a Node and an address; a finalizer
// keeps a deleted one around, as CAPI's would.
func createMachine(ctx context.Context, ns, name, address string, controlPlane bool) error {
	labels := map[string]string{clusterv1.ClusterNameLabel: "test"}
	if controlPlane {
		labels[clusterv1.MachineControlPlaneLabel] = ""
	}
	m := &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels, Finalizers: []string{"test.membergate.io/keep"}},
		Spec: clusterv1.MachineSpec{ClusterName: "test", Bootstrap: clusterv1.Bootstrap{DataSecretName: ptr.To("bootstrap")},
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.SchemeGroupVersion.Group, Kind: "OpenStackMachine", Name: name}}}
	if err := k8sClient.Create(ctx, m); err != nil {
		return err
	}
	m.Status.NodeRef = clusterv1.MachineNodeReference{Name: "node-" + name}
	m.Status.Addresses = clusterv1.MachineAddresses{{Type: clusterv1.MachineInternalIP, Address: address}}
	return k8sClient.Status().Update(ctx, m)
}

// gated reports whether the clusters of the run are all gated and idle:
// the MemberGate shows what Octavia said and every member serving.
func gated(ctx context.Context, tb testing.TB, clusters []scaleCluster) bool {
	var mgs v1alpha1.MemberGateList
	if err := k8sClient.List(ctx, &mgs); err != nil {
		tb.Fatal(err)
	}
	observed := map[string]bool{}
	for _, mg := range mgs.Items {
		// Every member serves (past its settle window): the cluster is idle.
		if mg.Status.LoadBalancer.ProvisioningStatus != "" && mg.DeletionTimestamp.IsZero() &&
			mg.Status.Replicas != nil && mg.Status.MemberReadyReplicas != nil && *mg.Status.MemberReadyReplicas == *mg.Status.Replicas {
			observed[mg.Namespace] = true
		}
	}
	for _, sc := range clusters {
		if !observed[sc.ns] {
			return false
		}
	}
	return true
}

// progress tells whoever runs the benchmark where it is: a benchmark's own
// log is printed only at its end.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s bench-manager: %s\n", time.Now().Format(time.TimeOnly), fmt.Sprintf(format, args...))
}

func waitFor(tb testing.TB, limit, every time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("not %s after %s", what, limit)
		}
		time.Sleep(every)
	}
}

// apiCounter counts the manager's kube-apiserver requests by verb and
// resource.
type apiCounter struct {
	mu     sync.Mutex
	byKind map[string]int
}

func (c *apiCounter) add(r *http.Request) {
	verb := r.Method
	if r.URL.Query().Get("watch") == "true" {
		verb = "WATCH"
	}
	// /api/v1/namespaces/ns/secrets/name or
	// /apis/group/version/namespaces/ns/machines/name/status.
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) > 0 && parts[0] == "apis" && len(parts) > 1 {
		parts = parts[1:]
	}
	if len(parts) > 2 {
		parts = parts[2:]
	}
	if len(parts) > 2 && parts[0] == "namespaces" {
		parts = parts[2:]
	}
	kind := strings.Join(parts[:min(len(parts), 1)], "/")
	if len(parts) > 2 {
		kind += "/" + parts[2]
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byKind == nil {
		c.byKind = map[string]int{}
	}
	c.byKind[verb+" "+kind]++
}

func (c *apiCounter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.byKind {
		out[k] = v
	}
	return out
}

// since is how many requests were sent after the snapshot then, and of
// what kinds, the most first.
func (c *apiCounter) since(then map[string]int) (int, string) {
	now := c.snapshot()
	total := 0
	for k, v := range now {
		total += v - then[k]
	}
	return total, kindsSince(now, then)
}

// kindsSince says what grew from then to now, the most first.
func kindsSince(now, then map[string]int) string {
	type kind struct {
		name string
		n    int
	}
	var kinds []kind
	for k, v := range now {
		if d := v - then[k]; d > 0 {
			kinds = append(kinds, kind{k, d})
		}
	}
	slices.SortFunc(kinds, func(a, b kind) int { return b.n - a.n })
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s %d", k.name, k.n))
	}
	return strings.Join(parts, ", ")
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func octaviaRequests(clouds []*cloud) int {
	n := 0
	for _, c := range clouds {
		n += c.octavia.TotalRequests()
	}
	return n
}

func statusRequests(clouds []*cloud) int {
	n := 0
	for _, c := range clouds {
		n += c.octavia.RequestCount(octaviatest.OpGetLoadBalancerStatus)
	}
	return n
}

// octaviaOps counts the emulators' requests by operation, Keystone's
// included.
func octaviaOps(clouds []*cloud) map[string]int {
	out := map[string]int{}
	for _, c := range clouds {
		for op, n := range c.octavia.Requests() {
			out[string(op)] += n
		}
	}
	return out
}

// neutronOps counts the emulators' Neutron requests by operation.
func neutronOps(clouds []*cloud) map[string]int {
	out := map[string]int{}
	for _, c := range clouds {
		for op, n := range c.neutron.Requests() {
			out[op] += n
		}
	}
	return out
}

func neutronRequests(clouds []*cloud) int {
	n := 0
	for _, c := range clouds {
		for _, v := range c.neutron.Requests() {
			n += v
		}
	}
	return n
}

// memory is the heap in use after a collection and the process's resident
// set (VmRSS). The kube-apiserver and etcd are other processes.
func memory() (heap, rss uint64) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	f, err := os.Open("/proc/self/status")
	if err == nil {
		defer f.Close()
		s := bufio.NewScanner(f)
		for s.Scan() {
			if v, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
				kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				rss = kb << 10
			}
		}
	}
	return ms.HeapInuse, rss
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reconcileTime is the sum of controller-runtime's reconcile time
// histogram over every controller of the process.
func reconcileTime(tb testing.TB) time.Duration {
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	var sum float64
	for _, mf := range families {
		if mf.GetName() != "controller_runtime_reconcile_time_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetHistogram().GetSampleSum()
		}
	}
	return time.Duration(sum * float64(time.Second))
}

// report is a run's figures as a Markdown table row and a log line.
func (f scaleFigures) report(tb testing.TB) string {
	n := float64(f.clusters)
	w := f.idleWindow.Seconds()
	per5m := func(v int) float64 { return float64(v) / n / w * 300 }
	p := func(q int) time.Duration {
		if len(f.latencies) == 0 {
			return 0
		}
		return f.latencies[(len(f.latencies)*q+99)/100-1]
	}
	hour := time.Hour.Seconds() / w / n
	rolling := 0.0
	if f.rollWindow > 0 {
		rolling = float64(f.rollOctavia) / f.rollWindow.Seconds() / n
	}
	row := fmt.Sprintf("| %d | %.2f | %.3f | %.3f | %.2f | %.2f | %.1f | %.1f | %.2f | %s / %s | %.0f / %.0f | %.0f / %.0f |",
		f.clusters,
		float64(f.idleOctavia)/w, per5m(f.idleOctavia), per5m(f.idleStatus), per5m(f.idleNeutron), float64(f.idleAPIServer)/w,
		f.idleCPU.Seconds()*hour, f.idleReconcile.Seconds()*hour,
		rolling, p(50).Round(100*time.Millisecond), p(99).Round(100*time.Millisecond),
		mib(f.heapRun-min(f.heapRun, f.heapBase)), mib(f.rssRun-min(f.rssRun, f.rssBase)),
		kib(f.heapRun-min(f.heapRun, f.heapBase))/n, kib(f.rssRun-min(f.rssRun, f.rssBase))/n)
	tb.Logf("%d clusters, gated in %s; idle %s: Octavia %d (status trees %d; %s), Neutron %d (%s), kube-apiserver %d requests (%s), CPU %s, reconcile %s; rollout of %d in %s: Octavia %d, Neutron %d, release p50 %s p99 %s; heap %d→%d MiB, RSS %d→%d MiB",
		f.clusters, f.startup.Round(time.Second), f.idleWindow, f.idleOctavia, f.idleStatus, f.idleOctaviaKinds, f.idleNeutron, f.idleNeutronKinds, f.idleAPIServer, f.idleAPIKinds, f.idleCPU.Round(time.Millisecond), f.idleReconcile.Round(time.Millisecond),
		f.rolled, f.rollWindow.Round(time.Second), f.rollOctavia, f.rollNeutron, p(50), p(99), f.heapBase>>20, f.heapRun>>20, f.rssBase>>20, f.rssRun>>20)
	return row
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
func kib(b uint64) float64 { return float64(b) / (1 << 10) }

// scaleHeader heads the table report writes rows of.
const scaleHeader = `| clusters | idle Octavia req/s (all) | idle Octavia req / cluster / 5 min | of which status trees | idle Neutron req / cluster / 5 min | idle kube-apiserver req/s | process CPU s / cluster / h | reconcile s / cluster / h | rolling Octavia req/s / cluster | release after ONLINE p50 / p99 | heap / RSS growth MiB | heap / RSS KiB per cluster |
|---|---|---|---|---|---|---|---|---|---|---|---|`

// BenchmarkManagerScale runs the manager's own wiring at scale: N
// clusters (MEMBERGATE_SCALE_N, default 100) on 5 emulated clouds, 3
// control-plane and 10 worker Machines each; idle for
// MEMBERGATE_SCALE_IDLE (default 6m), then one cluster in 20 rolls its
// control plane. Extra manager flags come from MEMBERGATE_SCALE_ARGS.
//
//	make bench-manager
func BenchmarkManagerScale(b *testing.B) {
	n := envInt(b, "MEMBERGATE_SCALE_N", 100)
	idle := 6 * time.Minute
	if v := os.Getenv("MEMBERGATE_SCALE_IDLE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatal(err)
		}
		idle = d
	}
	var args []string
	if v := os.Getenv("MEMBERGATE_SCALE_ARGS"); v != "" {
		args = strings.Fields(v)
	}
	for range b.N {
		f := runScale(b, scaleConfig{name: "bench", clusters: n, clouds: 5, workers: 10, idleWindow: idle, rolling: 20, args: args})
		row := f.report(b)
		b.Logf("\n%s\n%s", scaleHeader, row)
		fmt.Println(scaleHeader)
		fmt.Println(row)
	}
}

func envInt(tb testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		tb.Fatalf("%s=%q: %v", name, v, err)
	}
	return n
}

// TestIdleClustersCostOneReadPerIdleResync is the scale benchmark, small:
// 20 idle clusters on 2 clouds with the manager's own wiring and an idle
// resync shortened to 3 s. Over three idle resyncs each cluster is read
// from Octavia at most once per idle resync, and at least once: an idle
// cluster is still looked at; and its security groups from Neutron at most
// once per idle resync too.
func TestIdleClustersCostOneReadPerIdleResync(t *testing.T) {
	const clusters, idle, window = 20, 3 * time.Second, 9 * time.Second
	f := runScale(t, scaleConfig{name: "ci", clusters: clusters, clouds: 2, workers: 10, idleWindow: window, settle: 2 * idle,
		prepare: func(o *options) { o.idleResync = idle }})
	t.Log(f.report(t))
	periods := float64(window) / float64(idle)
	perClusterPerPeriod := float64(f.idleOctavia) / clusters / periods
	if perClusterPerPeriod > 1+1/periods {
		t.Errorf("idle clusters cost %.2f Octavia requests each per idle resync (%d in %s for %d clusters); want at most 1",
			perClusterPerPeriod, f.idleOctavia, window, clusters)
	}
	// A settled cluster's security groups are read in one pass per idle
	// resync too (its ports, their groups and rules: three requests).
	if perClusterPerPeriod := float64(f.idlePasses) / clusters / periods; perClusterPerPeriod > 1+1/periods {
		t.Errorf("idle clusters' security groups were read %.2f times each per idle resync (%d passes in %s for %d clusters, %d Neutron requests); want at most once",
			perClusterPerPeriod, f.idlePasses, window, clusters, f.idleNeutron)
	}
	if f.idleStatus < clusters {
		t.Errorf("%d status trees read in %s for %d idle clusters: some idle cluster was never looked at within its idle resync", f.idleStatus, window, clusters)
	}
}
