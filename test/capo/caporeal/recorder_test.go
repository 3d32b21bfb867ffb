package caporeal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
)

// recorder is the transport under CAPO's own clients. It adds the project
// header the emulator wants and the test client's Keystone token (logging
// in again when real Octavia refuses an expired one), and remembers what CAPO saw: the load
// balancer's provisioning status in each of CAPO's GETs of it (the last is
// the one CAPO based its verdict on) and when CAPO sent each request.
type recorder struct {
	project string
	// auth is the test's own client, whose token CAPO's requests carry.
	auth   *gophercloud.ServiceClient
	lbPath string // "/lbaas/loadbalancers/<id>", below v2 or v2.0

	mu       sync.Mutex
	lbSeen   []string
	requests []time.Time
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.send(req)
	if err == nil && resp.StatusCode == http.StatusUnauthorized && r.auth.ReauthFunc != nil && (req.Body == nil || req.GetBody != nil) {
		resp.Body.Close()
		if err := r.auth.Reauthenticate(req.Context(), r.auth.Token()); err != nil {
			return nil, err
		}
		again := req.Clone(req.Context())
		if req.GetBody != nil {
			if again.Body, err = req.GetBody(); err != nil {
				return nil, err
			}
		}
		resp, err = r.send(again)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests = append(r.requests, time.Now())
	if err != nil || req.Method != http.MethodGet || !strings.HasSuffix(req.URL.Path, r.lbPath) {
		return resp, err
	}
	body, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if rerr != nil {
		return resp, nil
	}
	var doc struct {
		LoadBalancer struct {
			ProvisioningStatus string `json:"provisioning_status"`
		} `json:"loadbalancer"`
	}
	if json.Unmarshal(body, &doc) == nil {
		r.lbSeen = append(r.lbSeen, doc.LoadBalancer.ProvisioningStatus)
	}
	return resp, nil
}

func (r *recorder) send(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("X-Project-Id", r.project)
	if tok := r.auth.Token(); tok != "" {
		req.Header.Set("X-Auth-Token", tok)
	}
	return http.DefaultTransport.RoundTrip(req)
}

// loadBalancerSeen returns the provisioning statuses CAPO read since the
// last call, in order, and forgets them, so that each call is judged on its
// own reads.
func (r *recorder) loadBalancerSeen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.lbSeen
	r.lbSeen = nil
	return s
}

// runs compresses a sequence of statuses: "ACTIVE, PENDING_UPDATE ×2, ACTIVE".
func runs(seq []string) string {
	var out []string
	for i := 0; i < len(seq); {
		j := i
		for j < len(seq) && seq[j] == seq[i] {
			j++
		}
		if n := j - i; n > 1 {
			out = append(out, fmt.Sprintf("%s ×%d", seq[i], n))
		} else {
			out = append(out, seq[i])
		}
		i = j
	}
	return strings.Join(out, ", ")
}

// requestsSince counts CAPO's requests sent after t.
func (r *recorder) requestsSince(t time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, at := range r.requests {
		if at.After(t) {
			n++
		}
	}
	return n
}
