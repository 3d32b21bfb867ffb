package neutrontest

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// overload is a scripted refusal: see Overload.
type overload struct {
	match      string
	left       int
	code       int
	retryAfter time.Duration
}

// Overload makes the next n requests whose "METHOD /v2.0/collection" (as
// Requests counts them) contains match — "" matches every request — fail
// with code, 429 or 503, and a Retry-After of retryAfter in whole seconds,
// as Neutron answers behind its rate limiter or a proxy that sheds load.
// A refused request is counted but changes nothing. Overloads are tried in
// the order they were added; each is spent after n refusals.
func (s *Server) Overload(match string, n, code int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.overloads = append(s.overloads, &overload{match: match, left: n, code: code, retryAfter: retryAfter})
}

// overloadedLocked answers the request with a scripted refusal if one
// applies, and reports whether it did.
func (s *Server) overloadedLocked(w http.ResponseWriter, key string) bool {
	for _, o := range s.overloads {
		if o.left <= 0 || !strings.Contains(key, o.match) {
			continue
		}
		o.left--
		w.Header().Set("Retry-After", strconv.Itoa(int(o.retryAfter/time.Second)))
		typ := "OverQuota"
		if o.code == http.StatusServiceUnavailable {
			typ = "ServiceUnavailable"
		}
		writeError(w, o.code, typ, http.StatusText(o.code))
		return true
	}
	return false
}
