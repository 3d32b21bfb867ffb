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
		collection = strings.TrimSuffix(collection, ".json")
		// The path is the tenant's endpoint's: only names membergate asks
		// for become label values, so no endpoint can grow the series.
		if !neutronCollections[collection] {
			collection = "other"
		}
		metrics.NeutronRequests.WithLabelValues(strings.ToLower(r.Method)+" "+collection, responseCode(resp, err)).Inc()
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

// neutronCollections are the Neutron collections membergate requests.
var neutronCollections = map[string]bool{"ports": true, "subnets": true, "networks": true, "security-groups": true, "security-group-rules": true}

// octaviaNames are the path segments that name what an Octavia or Keystone
// request does; every other segment (IDs, and whatever path a tenant's
// endpoint has) is left out, so the label stays bounded.
var octaviaNames = map[string]bool{"auth": true, "tokens": true, "status": true, "members": true, "loadbalancers": true,
	"listeners": true, "pools": true, "healthmonitors": true, "amphorae": true, "providers": true, "flavors": true, "quotas": true}

// operation names a request without its IDs, so the label stays bounded.
func operation(method, path string) string {
	var named []string
	for _, p := range strings.Split(strings.Trim(path, "/"), "/") {
		if octaviaNames[p] {
			named = append(named, p)
		}
	}
	if len(named) == 0 {
		return strings.ToLower(method) + " other"
	}
	return strings.ToLower(method) + " " + strings.Join(named, "/")
}
