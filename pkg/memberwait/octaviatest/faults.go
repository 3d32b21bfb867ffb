package octaviatest

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Fault makes matching requests fail or slow down, the way an overloaded
// Octavia or an operator's proxy in front of it does.
type Fault struct {
	Method       string        // "" matches any method
	PathContains string        // "" matches any path; otherwise a substring of the URL path as sent
	Probability  float64       // chance a matching request is hit, from the seeded source; 0 means always
	Count        int           // how many requests to hit before the fault is spent; 0 means unlimited
	Codes        []int         // status codes to answer with, one picked at random; empty means latency only
	Latency      time.Duration // waited on Options.Clock before the request is handled
}

type faultEntry struct {
	f    Fault
	left int
}

// InjectFault adds a fault and returns a function that removes it.
//
// Faults are tried in the order they were injected. Every fault that hits
// adds its latency and uses up one of its Count; the first that hits with
// Codes decides the response, and later faults are not tried. A hit request
// is counted but never reaches the emulated API, so it changes no state.
// 409 answers carry Octavia's immutable body; 429 and 503 carry
// Retry-After: 1.
func (s *Server) InjectFault(f Fault) (remove func()) {
	e := &faultEntry{f: f, left: f.Count}
	s.mu.Lock()
	s.faults = append(s.faults, e)
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, x := range s.faults {
			if x == e {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
				return
			}
		}
	}
}

// pickFault decides, under s.mu, what the faults do to one request.
func (s *Server) pickFault(method, path string) (latency time.Duration, code int) {
	for _, e := range s.faults {
		f := e.f
		if f.Method != "" && !strings.EqualFold(f.Method, method) {
			continue
		}
		if f.PathContains != "" && !strings.Contains(path, f.PathContains) {
			continue
		}
		if f.Count > 0 && e.left <= 0 {
			continue
		}
		if f.Probability > 0 && f.Probability < 1 && s.faultRNG.Float64() >= f.Probability {
			continue
		}
		if f.Count > 0 {
			e.left--
		}
		latency += f.Latency
		if len(f.Codes) > 0 {
			return latency, f.Codes[s.faultRNG.IntN(len(f.Codes))]
		}
	}
	return latency, 0
}

// injectedResponse renders a fault's status code with the body a client
// would really see for it.
func (s *Server) injectedResponse(code int, rq *request) response {
	switch code {
	case http.StatusConflict:
		return faultResponse(errImmutable("Load Balancer", s.lbIDFor(rq)))
	case http.StatusNotFound:
		return faultResponse(&apiError{code: code, msg: "The resource could not be found."})
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		r := faultResponse(&apiError{code: code, msg: http.StatusText(code)})
		r.header = map[string]string{"Retry-After": "1"}
		return r
	}
	text := http.StatusText(code)
	if text == "" {
		text = "Injected fault"
	}
	return faultResponse(&apiError{code: code, msg: text})
}

// lbIDFor finds, best effort, the load balancer a request is about, so an
// injected 409 names it as Octavia would.
func (s *Server) lbIDFor(rq *request) string {
	segs := trimPath(rq.path)
	for i := 0; i+1 < len(segs); i++ {
		id := segs[i+1]
		switch segs[i] {
		case "loadbalancers":
			return id
		case "listeners":
			if l := s.st.listeners[id]; l != nil {
				return l.lbID
			}
		case "pools":
			if p := s.st.pools[id]; p != nil {
				return p.lbID
			}
		case "healthmonitors":
			if m := s.st.monitors[id]; m != nil {
				if p := s.st.pools[m.poolID]; p != nil {
					return p.lbID
				}
			}
		}
	}
	var body map[string]map[string]any
	if json.Unmarshal(rq.body, &body) == nil {
		for _, obj := range body {
			if v, ok := obj["loadbalancer_id"].(string); ok {
				return v
			}
			if v, ok := obj["listener_id"].(string); ok && s.st.listeners[v] != nil {
				return s.st.listeners[v].lbID
			}
			if v, ok := obj["pool_id"].(string); ok && s.st.pools[v] != nil {
				return s.st.pools[v].lbID
			}
		}
	}
	return "00000000-0000-0000-0000-000000000000"
}
