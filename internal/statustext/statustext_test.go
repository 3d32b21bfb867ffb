package statustext

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	. "github.com/onsi/gomega"
)

// get makes one gophercloud request to a server answering with code and
// body, and returns gophercloud's error.
func get(t *testing.T, code int, body string) error {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(code)
		_, _ = fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	sc := &gophercloud.ServiceClient{ProviderClient: &gophercloud.ProviderClient{HTTPClient: *srv.Client()},
		Endpoint: srv.URL + "/", ResourceBase: srv.URL + "/v2/"}
	_, err := loadbalancers.Get(context.Background(), sc, "lb-1").Extract()
	if err == nil {
		t.Fatal("no error")
	}
	return fmt.Errorf("reading load balancer lb-1: %w", err)
}

func TestErrorKeepsTheAPIsMessageNotTheBody(t *testing.T) {
	g := NewWithT(t)
	err := get(t, 500, `{"faultstring": "Internal Server Error\n  on the worker", "debuginfo": "`+strings.Repeat("x", 100000)+`"}`)
	got := Error(err)
	g.Expect(got).To(HavePrefix("reading load balancer lb-1: GET http://127.0.0.1:"))
	g.Expect(got).To(HaveSuffix("/v2/lbaas/loadbalancers/lb-1: 500: Internal Server Error on the worker"))
	g.Expect(len(got)).To(BeNumerically("<=", MaxLen))

	got = Error(get(t, 502, "<html><body>"+strings.Repeat("Bad gateway ", 10000)+"</body></html>"))
	g.Expect(got).To(ContainSubstring("502: a body of 120026 bytes, not shown"))
	g.Expect(got).NotTo(ContainSubstring("html"))

	got = Error(get(t, 404, `{"NeutronError": {"type": "PortNotFound", "message": "Port p could not be found."}}`))
	g.Expect(got).To(HaveSuffix("404: Port p could not be found."))
	g.Expect(errors.Is(err, err)).To(BeTrue())
}

func TestErrorRedactsURLs(t *testing.T) {
	g := NewWithT(t)
	sc := &gophercloud.ServiceClient{ProviderClient: &gophercloud.ProviderClient{HTTPClient: http.Client{}},
		Endpoint: "http://admin:s3cret@127.0.0.1:1/", ResourceBase: "http://admin:s3cret@127.0.0.1:1/v2/"}
	_, err := loadbalancers.Get(context.Background(), sc, "lb-1").Extract()
	g.Expect(err).To(HaveOccurred())
	got := Error(err)
	g.Expect(got).NotTo(ContainSubstring("s3cret"))
	g.Expect(got).To(ContainSubstring("admin:xxxxx@127.0.0.1:1/v2/lbaas/loadbalancers/lb-1"))
}

func TestTrim(t *testing.T) {
	g := NewWithT(t)
	g.Expect(Trim("short")).To(Equal("short"))
	long := Trim(strings.Repeat("é", 300))
	g.Expect(len(long)).To(BeNumerically("<=", MaxLen))
	g.Expect(long).To(HaveSuffix("…"))
	g.Expect(Trim("a\nb\tc")).To(Equal("a b c"))
	g.Expect(Error(nil)).To(BeEmpty())
}

// A wrapped error reads as its status text and is still what it was.
func TestWrap(t *testing.T) {
	g := NewWithT(t)
	err := get(t, 503, "<html>"+strings.Repeat("busy ", 1000)+"</html>")
	w := Wrap(err)
	g.Expect(w.Error()).To(Equal(Error(err)))
	g.Expect(Error(w)).To(Equal(Error(err)))
	var code gophercloud.ErrUnexpectedResponseCode
	g.Expect(errors.As(w, &code)).To(BeTrue())
	g.Expect(code.Actual).To(Equal(503))
	g.Expect(Wrap(nil)).To(BeNil())
}
