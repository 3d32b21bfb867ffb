package scope

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/membergate/membergate/internal/metrics"
)

// countRequests wraps a transport to count requests by operation and code.
func countRequests(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(r)
		metrics.OctaviaRequests.WithLabelValues(operation(r.Method, r.URL.Path), responseCode(resp, err)).Inc()
		return resp, err
	})
}

// countAPIRequests counts Neutron's requests by collection, and the rest
// (Octavia, Keystone) as countRequests does.
func countAPIRequests(next http.RoundTripper) http.RoundTripper {
	octavia := countRequests(next)
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		_, rest, ok := strings.Cut(r.URL.Path, "/v2.0/")
		if !ok {
			return octavia.RoundTrip(r)
		}
		resp, err := next.RoundTrip(r)
		collection, _, _ := strings.Cut(rest, "/")
		metrics.NeutronRequests.WithLabelValues(strings.ToLower(r.Method)+" "+strings.TrimSuffix(collection, ".json"), responseCode(resp, err)).Inc()
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
