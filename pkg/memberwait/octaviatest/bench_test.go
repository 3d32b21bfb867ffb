package octaviatest

import (
	"fmt"
	"io"
	"net/http"
	"testing"
)

// The benchmarks compare the two ways a waiter can see every member of a
// load balancer with 3 listeners × 1 pool × 10 members: one status-tree GET,
// or one member list per pool. A "poll" is whatever covers all 30 members.

func benchServer(b *testing.B) (*Server, Seeded) {
	b.Helper()
	e := newEnv(b, Options{})
	spec := LoadBalancerSpec{Name: "k8s-api"}
	for l := 0; l < 3; l++ {
		ps := &PoolSpec{Name: fmt.Sprintf("pool-%d", l), Monitor: &MonitorSpec{}}
		for m := 0; m < 10; m++ {
			ps.Members = append(ps.Members, MemberSpec{
				Name:    fmt.Sprintf("k8s-api-%d-cp-%d", 6443+l, m),
				Address: fmt.Sprintf("10.0.%d.%d", l, 10+m),
			})
		}
		spec.Listeners = append(spec.Listeners, ListenerSpec{Name: fmt.Sprintf("listener-%d", l), Port: 6443 + l, Pool: ps})
	}
	return e.srv, e.srv.Seed(spec)
}

func get(b *testing.B, c *http.Client, url string) int {
	resp, err := c.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	return int(n)
}

func report(b *testing.B, bytes, requests int) {
	b.ReportMetric(float64(bytes)/float64(requests), "bytes/response")
	b.ReportMetric(float64(bytes)/float64(b.N), "bytes/poll")
	b.ReportMetric(float64(requests)/float64(b.N), "requests/poll")
}

func BenchmarkStatusTree(b *testing.B) {
	srv, s := benchServer(b)
	c := srv.ts.Client()
	url := srv.URL + "/v2/lbaas/loadbalancers/" + s.LoadBalancerID + "/status"
	b.ResetTimer()
	bytes := 0
	for i := 0; i < b.N; i++ {
		bytes += get(b, c, url)
	}
	report(b, bytes, b.N)
}

func BenchmarkListMembers(b *testing.B) {
	srv, s := benchServer(b)
	c := srv.ts.Client()
	var urls []string
	for _, p := range s.PoolIDs {
		urls = append(urls, srv.URL+"/v2/lbaas/pools/"+p+"/members")
	}
	b.ResetTimer()
	bytes, requests := 0, 0
	for i := 0; i < b.N; i++ {
		for _, u := range urls {
			bytes += get(b, c, u)
			requests++
		}
	}
	report(b, bytes, requests)
}
