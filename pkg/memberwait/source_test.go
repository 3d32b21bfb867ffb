package memberwait_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/membergate/membergate/pkg/memberwait"
	"github.com/membergate/membergate/pkg/memberwait/vclock"
)

// garbageOctavia answers the status tree with the given body and code.
func garbageOctavia(t *testing.T, code int, body string) *gophercloud.ServiceClient {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return &gophercloud.ServiceClient{ProviderClient: &gophercloud.ProviderClient{HTTPClient: *srv.Client()},
		Endpoint: srv.URL + "/", ResourceBase: srv.URL + "/v2/"}
}

func TestStatusTreeRejectsGarbageAsRetryable(t *testing.T) {
	cases := []struct {
		name, body string
		code       int
		want       string
	}{
		{"not JSON", "<html>proxy error</html>", 200, "invalid character"},
		{"no tree", `{"statuses": {}}`, 200, `no "statuses.loadbalancer"`},
		{"wrong types", `{"statuses": {"loadbalancer": {"listeners": "x"}}}`, 200, "cannot unmarshal"},
		{"bad gateway", "upstream died", 502, "502"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := memberwait.StatusTree(garbageOctavia(t, tc.code, tc.body))
			_, err := src.Observe(context.Background(), memberwait.Request{LoadBalancerID: "lb"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			if !memberwait.Retryable(err) {
				t.Fatalf("%v is not retryable; a glitching proxy must not end a wait", err)
			}
		})
	}
}

func TestWaitOnGarbageTimesOutWithTheReason(t *testing.T) {
	clk := vclock.New(start)
	src := memberwait.StatusTree(garbageOctavia(t, 200, "garbage"))
	stop := make(chan struct{})
	defer close(stop)
	go clk.Drive(1, stop)
	_, err := memberwait.Wait(context.Background(), src, "lb", memberwait.Selector{ID: "m"}, memberwait.Options{Clock: clk, Timeout: time.Minute})
	var te *memberwait.TimeoutError
	if !errors.As(err, &te) || !strings.Contains(te.Reason, "invalid character") {
		t.Fatalf("err = %v, want a timeout naming the decode failure", err)
	}
}

func TestRetryableClassification(t *testing.T) {
	for code, want := range map[int]bool{400: false, 401: false, 403: false, 404: false, 409: true, 429: true, 500: true, 503: true, 504: true} {
		err := gophercloud.ErrUnexpectedResponseCode{Actual: code}
		if got := memberwait.Retryable(err); got != want {
			t.Errorf("Retryable(%d) = %v, want %v", code, got, want)
		}
	}
	if memberwait.Retryable(context.Canceled) || memberwait.Retryable(nil) {
		t.Error("context errors and nil are not retryable")
	}
}
