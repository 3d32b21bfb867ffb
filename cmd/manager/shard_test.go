package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
	"github.com/membergate/membergate/pkg/neutrontest"
)

// TestShardsNeverTouchEachOthersClusters runs two managers with disjoint
// --cluster-selector values on the same clusters: each gates its own
// (MemberGate, hooks) and sends no write about the other's, nor reads its
// load balancer.
func TestShardsNeverTouchEachOthersClusters(t *testing.T) {
	g := NewWithT(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cl := &cloud{octavia: octaviatest.NewServer(octaviatest.Options{Users: map[string]string{"capo": "s3cret"}}), neutron: neutrontest.NewServer()}
	defer cl.octavia.Close()
	defer cl.neutron.Close()
	cl.neutron.AddNetwork("nodes", "10.0.0.0/24")
	shards := []string{"a", "b"}
	byShard := map[string][]scaleCluster{}
	for i := range 4 {
		shard := shards[i%2]
		sc := scaleCluster{ns: fmt.Sprintf("shard-%s-%d", shard, i), cloud: cl, labels: map[string]string{"membergate.io/shard": shard}}
		g.Expect(createScaleCluster(ctx, &sc, 2)).To(Succeed())
		byShard[shard] = append(byShard[shard], sc)
	}

	// Every write each manager sends, as "METHOD path".
	var mu sync.Mutex
	writes := map[string][]string{}
	for _, shard := range shards {
		o, err := parse([]string{"--leader-elect=false", "--metrics-bind-address=0", "--health-probe-bind-address=0", "--enable-webhooks=false",
			"--enable-extension=false", "--management-cluster-id=shard-" + shard, "--cluster-selector=membergate.io/shard=" + shard})
		g.Expect(err).NotTo(HaveOccurred())
		o.skipNameValidation = true
		c := rest.CopyConfig(cfg)
		c.Wrap(func(rt http.RoundTripper) http.RoundTripper {
			return roundTripFunc(func(r *http.Request) (*http.Response, error) {
				if r.Method != http.MethodGet {
					mu.Lock()
					writes[shard] = append(writes[shard], r.Method+" "+r.URL.Path)
					mu.Unlock()
				}
				return rt.RoundTrip(r)
			})
		})
		mgr, err := newManager(ctx, c, o)
		g.Expect(err).NotTo(HaveOccurred())
		done := make(chan error, 1)
		go func() { done <- mgr.Start(ctx) }()
		defer func() { cancel(); <-done }()
	}
	all := append(append([]scaleCluster{}, byShard["a"]...), byShard["b"]...)
	g.Eventually(func() bool { return gated(ctx, t, all) }, 2*time.Minute, 200*time.Millisecond).Should(BeTrue())
	for _, sc := range all {
		var m clusterv1.Machine
		g.Eventually(func() string {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: sc.ns, Name: "cp-0"}, &m)).To(Succeed())
			return m.Annotations[v1alpha1.PreDrainHookAnnotation]
		}, time.Minute, 200*time.Millisecond).Should(Equal(v1alpha1.HookOwner))
	}
	// Let both run on for a while: resyncs, echoes, security-group passes.
	time.Sleep(5 * time.Second)

	mu.Lock()
	defer mu.Unlock()
	for shard, other := range map[string]string{"a": "b", "b": "a"} {
		var own int
		for _, w := range writes[shard] {
			for _, sc := range byShard[other] {
				g.Expect(w).NotTo(ContainSubstring("/namespaces/"+sc.ns+"/"), "manager %s wrote to shard %s's cluster", shard, other)
			}
			for _, sc := range byShard[shard] {
				if strings.Contains(w, "/namespaces/"+sc.ns+"/") {
					own++
				}
			}
		}
		g.Expect(own).To(BeNumerically(">", 0), "manager %s wrote nothing for its own clusters", shard)
	}
}

// TestCacheKeepsOnlyWhatIsRead: the manager's cache holds no managedFields,
// and of a worker Machine only what the security-group reconciler reads.
func TestCacheKeepsOnlyWhatIsRead(t *testing.T) {
	g := NewWithT(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cl := &cloud{octavia: octaviatest.NewServer(octaviatest.Options{Users: map[string]string{"capo": "s3cret"}}), neutron: neutrontest.NewServer()}
	defer cl.octavia.Close()
	defer cl.neutron.Close()
	sc := scaleCluster{ns: "cache-slim", cloud: cl}
	g.Expect(createScaleCluster(ctx, &sc, 1)).To(Succeed())
	o, err := parse([]string{"--leader-elect=false", "--metrics-bind-address=0", "--health-probe-bind-address=0", "--enable-webhooks=false",
		"--enable-extension=false", "--management-cluster-id=cache"})
	g.Expect(err).NotTo(HaveOccurred())
	o.skipNameValidation = true
	mgr, err := newManager(ctx, cfg, o)
	g.Expect(err).NotTo(HaveOccurred())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	defer func() { cancel(); <-done }()
	g.Expect(mgr.GetCache().WaitForCacheSync(ctx)).To(BeTrue())

	var worker, cp clusterv1.Machine
	g.Eventually(func() error {
		return mgr.GetClient().Get(ctx, client.ObjectKey{Namespace: sc.ns, Name: "worker-0"}, &worker)
	}, time.Minute, 100*time.Millisecond).Should(Succeed())
	g.Expect(worker.Status.Addresses).NotTo(BeEmpty(), "the security-group reconciler reads workers' addresses")
	g.Expect(worker.Labels).To(HaveKeyWithValue(clusterv1.ClusterNameLabel, "test"))
	g.Expect(worker.Spec.InfrastructureRef.Name).To(BeEmpty(), "a worker's spec is cached")
	g.Expect(worker.ManagedFields).To(BeEmpty())
	g.Expect(mgr.GetClient().Get(ctx, client.ObjectKey{Namespace: sc.ns, Name: "cp-0"}, &cp)).To(Succeed())
	g.Expect(cp.Spec.InfrastructureRef.Name).To(Equal("cp-0"), "a control-plane Machine is cached whole")
	g.Expect(cp.ManagedFields).To(BeEmpty())
}
