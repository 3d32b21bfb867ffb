package memberwait_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/membergate/membergate/pkg/memberwait"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
	"github.com/membergate/membergate/pkg/memberwait/vclock"
)

// countingTransport counts response bytes, to compare what each way of
// observing costs Octavia and the network.
type countingTransport struct {
	bytes atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	c.bytes.Add(int64(len(body)))
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// BenchmarkObserve compares one observation of a load balancer with
// `listeners` listeners, each with a pool of `members` members, read as the
// status tree or as one member list per pool (plus the LB itself, which the
// pool lists lack): requests, bytes and time per observation.
func BenchmarkObserve(b *testing.B) {
	for _, shape := range []struct{ listeners, members int }{{1, 3}, {1, 50}, {3, 3}, {3, 50}} {
		octa := octaviatest.NewServer(octaviatest.Options{Clock: vclock.New(start)})
		spec := octaviatest.LoadBalancerSpec{Name: "lb"}
		for l := 0; l < shape.listeners; l++ {
			pool := &octaviatest.PoolSpec{Name: fmt.Sprintf("pool-%d", l), Monitor: &octaviatest.MonitorSpec{Type: "TCP", Delay: 10, Timeout: 5, MaxRetries: 5, MaxRetriesDown: 3}}
			for m := 0; m < shape.members; m++ {
				pool.Members = append(pool.Members, octaviatest.MemberSpec{Name: fmt.Sprintf("m-%d", m), Address: fmt.Sprintf("10.0.%d.%d", l, m+1), ProtocolPort: 6443 + l})
			}
			spec.Listeners = append(spec.Listeners, octaviatest.ListenerSpec{Port: 6443 + l, Pool: pool})
		}
		seeded := octa.Seed(spec)
		for _, kind := range []string{"status-tree", "pool-members"} {
			b.Run(fmt.Sprintf("%s/%dx%d", kind, shape.listeners, shape.members), func(b *testing.B) {
				ct := &countingTransport{}
				client := octa.ServiceClient()
				client.HTTPClient = http.Client{Transport: ct}
				src := memberwait.StatusTree(client)
				req := memberwait.Request{LoadBalancerID: seeded.LoadBalancerID, LoadBalancerStatus: true}
				if kind == "pool-members" {
					src = memberwait.PoolMembers(client)
					req.PoolIDs = seeded.PoolIDs
				}
				octa.ResetCounters()
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := src.Observe(context.Background(), req); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(octa.TotalRequests())/float64(b.N), "requests/op")
				b.ReportMetric(float64(ct.bytes.Load())/float64(b.N), "resp-bytes/op")
			})
		}
		octa.Close()
	}
}

// BenchmarkEvaluate is the pure decision: what a controller pays per member
// per reconcile beyond the one request.
func BenchmarkEvaluate(b *testing.B) {
	s := &memberwait.Snapshot{LoadBalancerID: "lb", Found: true, ProvisioningStatus: memberwait.StatusActive,
		Pools: []memberwait.PoolStatus{{ID: "p", Monitor: memberwait.MonitorPresent}}}
	for i := 0; i < 50; i++ {
		s.Pools[0].Members = append(s.Pools[0].Members, memberwait.MemberStatus{ID: fmt.Sprintf("m%d", i), Address: fmt.Sprintf("10.0.0.%d", i),
			ProtocolPort: 6443, ProvisioningStatus: memberwait.StatusActive, OperatingStatus: memberwait.StatusOnline})
	}
	obs := memberwait.Observation{Snapshot: s, At: start.Add(time.Minute)}
	opts := memberwait.Options{}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		memberwait.Evaluate(obs, memberwait.Selector{ID: "m49"}, opts, memberwait.Progress{Since: start})
	}
}
