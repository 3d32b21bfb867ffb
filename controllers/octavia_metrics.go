package controllers

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

var octaviaRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "membergate_octavia_requests_total",
	Help: "Requests to Octavia (and Keystone) by operation and HTTP status code; code is \"error\" when no answer came.",
}, []string{"operation", "code"})

// countRequests wraps a transport to count requests by operation and code.
func countRequests(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(r)
		octaviaRequests.WithLabelValues(operation(r.Method, r.URL.Path), responseCode(resp, err)).Inc()
		return resp, err
	})
}

// responseCode is a request's code label: the HTTP status, or "error" when
// no answer came.
func responseCode(resp *http.Response, err error) string {
	if err != nil {
		return "error"
	}
	return strconv.Itoa(resp.StatusCode)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// operation names a request without its IDs, so the label stays bounded.
func operation(method, path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	var named []string
	for i, p := range parts {
		switch {
		case p == "auth" || p == "tokens" || p == "status" || p == "members" ||
			(i > 0 && (parts[i-1] == "lbaas" || parts[i-1] == "v3")):
			named = append(named, p)
		}
	}
	if len(named) == 0 {
		return strings.ToLower(method) + " other"
	}
	return strings.ToLower(method) + " " + strings.Join(named, "/")
}
