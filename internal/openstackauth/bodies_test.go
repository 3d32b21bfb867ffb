package openstackauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/membergate/membergate/pkg/memberwait"
)

// An Octavia (or whatever a tenant's endpoint override names) that answers
// a status request with 100 MiB: the read stops at MaxBodyBytes with an
// error that says so, whether or not the size was announced.
func TestAnswersPastTheCapAreRefused(t *testing.T) {
	const huge = 100 << 20
	for _, announce := range []bool{true, false} {
		t.Run("Content-Length "+strconv.FormatBool(announce), func(t *testing.T) {
			g := NewWithT(t)
			var sent atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if announce {
					w.Header().Set("Content-Length", strconv.Itoa(huge))
				}
				// One endless string value: valid JSON as far as it goes.
				n, _ := w.Write([]byte(`{"statuses": {"loadbalancer": {"id": "`))
				sent.Add(int64(n))
				chunk := []byte(strings.Repeat("x", 64<<10))
				for sent.Load() < huge {
					n, err := w.Write(chunk)
					sent.Add(int64(n))
					if err != nil {
						return
					}
				}
			}))
			t.Cleanup(srv.Close)
			sc, err := NewLoadBalancerClient(context.Background(), Options{Getenv: NoEnvironment, CloudsSource: "test",
				CloudsYAML: []byte("clouds:\n  x:\n    auth_type: none\n    load_balancer_endpoint_override: " + srv.URL + "\n"), Cloud: "x"})
			g.Expect(err).NotTo(HaveOccurred())
			_, err = memberwait.StatusTree(sc).Observe(context.Background(), memberwait.Request{LoadBalancerID: "lb"})
			var tooLarge *BodyTooLargeError
			g.Expect(errors.As(err, &tooLarge)).To(BeTrue(), "got %v", err)
			g.Expect(err.Error()).To(ContainSubstring("larger than 4 MiB"))
			srv.CloseClientConnections()
			g.Expect(sent.Load()).To(BeNumerically("<", huge), "the whole body was read")
		})
	}
}
