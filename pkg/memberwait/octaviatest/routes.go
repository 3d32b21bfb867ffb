package octaviatest

import (
	"net/http"
	"strings"
)

// Operation names one API route by method and templated path; it keys the
// request counters. Requests under /v2.0/ count under the /v2/ name, and a
// request that matches no route counts under its literal method and path.
type Operation string

// Emulated routes.
const (
	OpVersions Operation = "GET /"
	OpGetV2    Operation = "GET /v2"
	OpGetLBaaS Operation = "GET /v2/lbaas"

	OpListLoadBalancers     Operation = "GET /v2/lbaas/loadbalancers"
	OpCreateLoadBalancer    Operation = "POST /v2/lbaas/loadbalancers"
	OpGetLoadBalancer       Operation = "GET /v2/lbaas/loadbalancers/{id}"
	OpUpdateLoadBalancer    Operation = "PUT /v2/lbaas/loadbalancers/{id}"
	OpDeleteLoadBalancer    Operation = "DELETE /v2/lbaas/loadbalancers/{id}"
	OpGetLoadBalancerStatus Operation = "GET /v2/lbaas/loadbalancers/{id}/status" // also counts the legacy .../statuses alias
	OpGetLoadBalancerStats  Operation = "GET /v2/lbaas/loadbalancers/{id}/stats"

	OpListListeners    Operation = "GET /v2/lbaas/listeners"
	OpCreateListener   Operation = "POST /v2/lbaas/listeners"
	OpGetListener      Operation = "GET /v2/lbaas/listeners/{id}"
	OpUpdateListener   Operation = "PUT /v2/lbaas/listeners/{id}"
	OpDeleteListener   Operation = "DELETE /v2/lbaas/listeners/{id}"
	OpGetListenerStats Operation = "GET /v2/lbaas/listeners/{id}/stats"

	OpListPools  Operation = "GET /v2/lbaas/pools"
	OpCreatePool Operation = "POST /v2/lbaas/pools"
	OpGetPool    Operation = "GET /v2/lbaas/pools/{id}"
	OpUpdatePool Operation = "PUT /v2/lbaas/pools/{id}"
	OpDeletePool Operation = "DELETE /v2/lbaas/pools/{id}"

	OpListMembers        Operation = "GET /v2/lbaas/pools/{id}/members"
	OpCreateMember       Operation = "POST /v2/lbaas/pools/{id}/members"
	OpBatchUpdateMembers Operation = "PUT /v2/lbaas/pools/{id}/members"
	OpGetMember          Operation = "GET /v2/lbaas/pools/{id}/members/{member_id}"
	OpUpdateMember       Operation = "PUT /v2/lbaas/pools/{id}/members/{member_id}"
	OpDeleteMember       Operation = "DELETE /v2/lbaas/pools/{id}/members/{member_id}"

	OpListHealthMonitors  Operation = "GET /v2/lbaas/healthmonitors"
	OpCreateHealthMonitor Operation = "POST /v2/lbaas/healthmonitors"
	OpGetHealthMonitor    Operation = "GET /v2/lbaas/healthmonitors/{id}"
	OpUpdateHealthMonitor Operation = "PUT /v2/lbaas/healthmonitors/{id}"
	OpDeleteHealthMonitor Operation = "DELETE /v2/lbaas/healthmonitors/{id}"

	OpKeystoneVersions Operation = "GET /identity"
	OpKeystoneV3       Operation = "GET /identity/v3"
	OpCreateToken      Operation = "POST /identity/v3/auth/tokens"
)

type route struct {
	op     Operation
	method string
	segs   []string
	handle func(*request) response
}

func newRoute(op Operation, pattern string, h func(*request) response) route {
	method, path, _ := strings.Cut(pattern, " ")
	return route{op: op, method: method, segs: trimPath(path), handle: h}
}

func (s *Server) buildRoutes() []route {
	r := func(op Operation, h func(*request) response) route { return newRoute(op, string(op), h) }
	return []route{
		r(OpVersions, s.handleVersions),
		r(OpGetV2, s.handleV2),
		r(OpGetLBaaS, s.handleV2),

		r(OpListLoadBalancers, s.handleListLBs),
		r(OpCreateLoadBalancer, s.handleCreateLB),
		r(OpGetLoadBalancer, s.handleGetLB),
		r(OpUpdateLoadBalancer, s.handleUpdateLB),
		r(OpDeleteLoadBalancer, s.handleDeleteLB),
		r(OpGetLoadBalancerStatus, s.handleLBStatus),
		newRoute(OpGetLoadBalancerStatus, "GET /v2/lbaas/loadbalancers/{id}/statuses", s.handleLBStatus),
		r(OpGetLoadBalancerStats, s.handleLBStats),

		r(OpListListeners, s.handleListListeners),
		r(OpCreateListener, s.handleCreateListener),
		r(OpGetListener, s.handleGetListener),
		r(OpUpdateListener, s.handleUpdateListener),
		r(OpDeleteListener, s.handleDeleteListener),
		r(OpGetListenerStats, s.handleListenerStats),

		r(OpListPools, s.handleListPools),
		r(OpCreatePool, s.handleCreatePool),
		r(OpGetPool, s.handleGetPool),
		r(OpUpdatePool, s.handleUpdatePool),
		r(OpDeletePool, s.handleDeletePool),

		r(OpListMembers, s.handleListMembers),
		r(OpCreateMember, s.handleCreateMember),
		r(OpBatchUpdateMembers, s.handleBatchMembers),
		r(OpGetMember, s.handleGetMember),
		r(OpUpdateMember, s.handleUpdateMember),
		r(OpDeleteMember, s.handleDeleteMember),

		r(OpListHealthMonitors, s.handleListMonitors),
		r(OpCreateHealthMonitor, s.handleCreateMonitor),
		r(OpGetHealthMonitor, s.handleGetMonitor),
		r(OpUpdateHealthMonitor, s.handleUpdateMonitor),
		r(OpDeleteHealthMonitor, s.handleDeleteMonitor),

		r(OpKeystoneVersions, s.handleKeystoneVersions),
		r(OpKeystoneV3, s.handleKeystoneV3),
		r(OpCreateToken, s.handleCreateToken),
	}
}

// match finds the route for a request, or the error response for a miss.
func (s *Server) match(method, path string) (*route, map[string]string, response) {
	segs := trimPath(path)
	if len(segs) > 0 && segs[0] == "v2.0" {
		segs[0] = "v2" // Octavia mounts the same controller at both; gophercloud uses v2.0
	}
	pathMatched := false
	for i := range s.routes {
		rt := &s.routes[i]
		params, ok := matchSegs(rt.segs, segs)
		if !ok {
			continue
		}
		if rt.method == method {
			return rt, params, response{}
		}
		pathMatched = true
	}
	keystone := len(segs) > 0 && segs[0] == "identity"
	switch {
	case pathMatched && keystone:
		return nil, nil, keystoneError(http.StatusMethodNotAllowed, "The method is not allowed for the requested URL.")
	case pathMatched:
		// pecan's RestController allows what the controller defines: every
		// Octavia resource controller defines all four; the status and stats
		// controllers only GET.
		allow := "DELETE, GET, POST, PUT"
		switch segs[len(segs)-1] {
		case "status", "statuses", "stats":
			allow = "GET"
		}
		r := pecanResponse(http.StatusMethodNotAllowed, "Method Not Allowed", "")
		r.header = map[string]string{"Allow": allow}
		return nil, nil, r
	case keystone:
		return nil, nil, keystoneError(http.StatusNotFound, "The resource could not be found.")
	case len(segs) > 0 && segs[0] == "v2":
		return nil, nil, pecanResponse(http.StatusNotFound, "Not Found", "")
	}
	// Outside the v2 controller pecan has no description at all.
	return nil, nil, pecanResponse(http.StatusNotFound, "Not Found", nil)
}

func matchSegs(pattern, segs []string) (map[string]string, bool) {
	if len(pattern) != len(segs) {
		return nil, false
	}
	var params map[string]string
	for i, p := range pattern {
		if strings.HasPrefix(p, "{") {
			if segs[i] == "" {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[strings.Trim(p, "{}")] = segs[i]
			continue
		}
		if p != segs[i] {
			return nil, false
		}
	}
	return params, true
}
