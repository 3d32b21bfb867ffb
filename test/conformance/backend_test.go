package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
	clocktesting "k8s.io/utils/clock/testing"
)

// backend is one Octavia under test: real Octavia 11 or the emulator. The
// scenarios drive both through the same gophercloud client and raw HTTP, and
// read time only through the backend, so real transitions take real time and
// the emulator's take virtual time.
type backend struct {
	name   string
	client *gophercloud.ServiceClient
	stack  *stack // real Octavia only

	// The emulator only: its fake clock, and the virtual time the test has
	// let pass. While frozen (its "worker" stopped) virtual time passes but
	// the emulator's clock does not move, so nothing leaves PENDING_*.
	srv     *octaviatest.Server
	clk     *clocktesting.FakeClock
	virtual time.Duration
	frozen  bool
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newEmulatorBackend(t testing.TB) *backend {
	clk := clocktesting.NewFakeClock(epoch)
	srv := octaviatest.NewServer(octaviatest.Options{Clock: clk, Seed: 1})
	t.Cleanup(srv.Close)
	return &backend{name: "emulator", client: srv.ServiceClient(), srv: srv, clk: clk}
}

// newRealtimeEmulatorBackend is an emulator on the real clock with the
// delays measured on Octavia 11, for tests that drive memberwait, whose
// waits run on a clock of their own.
func newRealtimeEmulatorBackend(t testing.TB) *backend {
	srv := octaviatest.NewServer(octaviatest.Options{Seed: 1})
	t.Cleanup(srv.Close)
	return &backend{name: "emulator", client: srv.ServiceClient(), srv: srv}
}

func newOctaviaBackend(t testing.TB) *backend {
	s := realStack(t)
	return &backend{name: "octavia", client: s.octavia(t), stack: s}
}

// backends runs f against the emulator and, when the stack is up, real
// Octavia, each as a subtest named after it.
func backends(t *testing.T, f func(t *testing.T, b *backend)) {
	t.Run("emulator", func(t *testing.T) { f(t, newEmulatorBackend(t)) })
	t.Run("octavia", func(t *testing.T) { f(t, newOctaviaBackend(t)) })
}

func (b *backend) real() bool { return b.stack != nil }

// virtualTime: the backend is the emulator on a fake clock.
func (b *backend) virtualTime() bool { return b.clk != nil }

// now is wall time, or epoch + virtual time for the emulator on a fake clock.
func (b *backend) now() time.Time {
	if !b.virtualTime() {
		return time.Now()
	}
	return epoch.Add(b.virtual)
}

// pass lets d go by: a sleep, or a clock step for the emulator on a fake clock.
func (b *backend) pass(d time.Duration) {
	if !b.virtualTime() {
		time.Sleep(d)
		return
	}
	b.virtual += d
	if !b.frozen {
		b.clk.Step(d)
	}
}

// pollGap is how often scenarios look: real Octavia's single-threaded API
// answers a GET in ~40 ms, and its quickest transition takes ~300 ms.
const pollGap = 50 * time.Millisecond

// eventually polls cond until it holds, failing after timeout (real or
// virtual). cond returns a description of what it saw, for the failure.
func (b *backend) eventually(t testing.TB, what string, timeout time.Duration, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := b.now()
	for {
		ok, seen := cond()
		if ok {
			return b.now().Sub(start)
		}
		if b.now().Sub(start) > timeout {
			t.Fatalf("%s: %s not reached after %s; last seen: %s", b.name, what, timeout, seen)
		}
		b.pass(pollGap)
	}
}

// stopWorker and startWorker take Octavia's worker away and bring it back:
// the API still sets PENDING_* and answers 409, the work waits in RabbitMQ.
func (b *backend) stopWorker(t testing.TB) {
	t.Helper()
	if b.real() {
		d := b.stack.ctl(t, "stop", "octavia-worker")
		t.Cleanup(func() { b.stack.ensureRunning(t, "octavia-worker") })
		report.timing(b.name, "octavia-worker stop", d)
		return
	}
	b.frozen = true
}

func (b *backend) startWorker(t testing.TB) {
	t.Helper()
	if b.real() {
		d := b.stack.ctl(t, "start", "octavia-worker")
		report.timing(b.name, "octavia-worker start (until it consumes)", d)
		return
	}
	b.frozen = false
}

// pauseWorker freezes Octavia's worker (SIGSTOP) and resumeWorker thaws it:
// while paused the API's PENDING_* states are certain to be observed —
// without it the worker can finish a change before the first GET — and
// thawing is instant. For the emulator both move nothing but its clock.
func (b *backend) pauseWorker(t testing.TB) {
	t.Helper()
	if b.real() {
		b.stack.ctl(t, "pause", "octavia-worker")
		t.Cleanup(func() { _ = exec.Command(b.stack.get("OS_CTL"), "resume", "octavia-worker").Run() })
		return
	}
	b.frozen = true
}

func (b *backend) resumeWorker(t testing.TB) {
	t.Helper()
	if b.real() {
		b.stack.ctl(t, "resume", "octavia-worker")
		return
	}
	b.frozen = false
}

// setMemberStatus is an UPDATE on Octavia's member table; the emulator's
// SetMemberStatus claims to be the same thing.
func (b *backend) setMemberStatus(t testing.TB, memberID, prov, op string) {
	t.Helper()
	if b.real() {
		var sets []string
		if prov != "" {
			sets = append(sets, fmt.Sprintf("provisioning_status='%s'", prov))
		}
		if op != "" {
			sets = append(sets, fmt.Sprintf("operating_status='%s'", op))
		}
		b.stack.sql(t, "UPDATE member SET %s WHERE id='%s'", strings.Join(sets, ", "), memberID)
		return
	}
	if err := b.srv.SetMemberStatus(memberID, prov, op); err != nil {
		t.Fatal(err)
	}
}

// rawResponse is one HTTP exchange, for the checks gophercloud would hide.
type rawResponse struct {
	code   int
	header http.Header
	body   []byte
}

// raw sends a request with the client's headers (its token) and
// Accept: application/json, which real Octavia needs to answer pecan's own
// errors in JSON.
func (b *backend) raw(t testing.TB, method, path, body string) rawResponse {
	t.Helper()
	r := b.rawOnce(t, method, path, body)
	if r.code == http.StatusUnauthorized && b.real() {
		// The token expired (the stack's last a minute): log in again, as
		// gophercloud does for its own requests, and retry once.
		if err := b.client.Reauthenticate(context.Background(), b.client.Token()); err != nil {
			t.Fatalf("%s %s: logging in again after a 401: %v", method, path, err)
		}
		r = b.rawOnce(t, method, path, body)
	}
	return r
}

func (b *backend) rawOnce(t testing.TB, method, path, body string) rawResponse {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, strings.TrimSuffix(b.client.Endpoint, "/")+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range b.client.MoreHeaders {
		req.Header.Set(k, v)
	}
	for k, v := range b.client.AuthenticatedHeaders() {
		req.Header.Set(k, v)
	}
	req.Header.Set("Accept", "application/json")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := b.client.HTTPClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return rawResponse{code: resp.StatusCode, header: resp.Header, body: data}
}

// rawJSON is raw, failing unless the answer has the wanted code; it decodes
// the body into out when out is not nil.
func (b *backend) rawJSON(t testing.TB, method, path, body string, want int, out any) {
	t.Helper()
	r := b.raw(t, method, path, body)
	if r.code != want {
		t.Fatalf("%s: %s %s = %d, want %d: %s", b.name, method, path, r.code, want, r.body)
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			t.Fatalf("%s: %s %s: decoding %s: %v", b.name, method, path, r.body, err)
		}
	}
}

// tree is one status-tree GET flattened to "kind name" → "PROV/OP", e.g.
// "member m1" → "ACTIVE/NO_MONITOR". A missing load balancer is "lb" → "404".
type tree map[string]string

const (
	absent   = "absent" // not in the tree (deleted, or not created yet)
	notFound = "404"
)

type statusNode struct {
	Name               string       `json:"name"`
	ProvisioningStatus string       `json:"provisioning_status"`
	OperatingStatus    string       `json:"operating_status"`
	Listeners          []statusNode `json:"listeners"`
	Pools              []statusNode `json:"pools"`
	Members            []statusNode `json:"members"`
	HealthMonitor      *statusNode  `json:"health_monitor"`
}

func (n statusNode) pair() string { return n.ProvisioningStatus + "/" + n.OperatingStatus }

func (b *backend) tree(t testing.TB, lbID string) tree {
	t.Helper()
	r := b.raw(t, http.MethodGet, "/v2/lbaas/loadbalancers/"+lbID+"/status", "")
	if r.code == http.StatusNotFound {
		return tree{"lb": notFound}
	}
	if r.code != http.StatusOK {
		t.Fatalf("%s: status tree: %d %s", b.name, r.code, r.body)
	}
	var root struct {
		Statuses struct {
			LoadBalancer statusNode `json:"loadbalancer"`
		} `json:"statuses"`
	}
	if err := json.Unmarshal(r.body, &root); err != nil {
		t.Fatalf("%s: status tree %s: %v", b.name, r.body, err)
	}
	lb := root.Statuses.LoadBalancer
	out := tree{"lb": lb.pair()}
	for _, l := range lb.Listeners {
		out["listener "+l.Name] = l.pair()
		for _, p := range l.Pools {
			out["pool "+p.Name] = p.pair()
			if p.HealthMonitor != nil {
				out["monitor "+p.HealthMonitor.Name] = p.HealthMonitor.pair()
			}
			for _, m := range p.Members {
				out["member "+m.Name] = m.pair()
			}
		}
	}
	return out
}

func (tr tree) get(key string) string {
	if v, ok := tr[key]; ok {
		return v
	}
	if tr["lb"] == notFound {
		return notFound
	}
	return absent
}

// watch records, for each key of want, the distinct statuses the status tree
// shows from now until every key shows the last status want lists for it.
// It compares sequences, never timings: the emulator runs on virtual time.
// afterFirst, if set, runs once the first tree has been read (it resumes a
// paused worker).
func (b *backend) watch(t testing.TB, lbID string, want map[string][]string, timeout time.Duration, afterFirst func()) (map[string][]string, time.Duration) {
	t.Helper()
	got := map[string][]string{}
	first := true
	took := b.eventually(t, "final statuses "+fmt.Sprint(finals(want)), timeout, func() (bool, string) {
		tr := b.tree(t, lbID)
		if first && afterFirst != nil {
			afterFirst()
		}
		first = false
		done := true
		for k, seq := range want {
			v := tr.get(k)
			if s := got[k]; len(s) == 0 || s[len(s)-1] != v {
				got[k] = append(got[k], v)
			}
			if v != seq[len(seq)-1] {
				done = false
			}
		}
		return done, fmt.Sprint(got)
	})
	return got, took
}

func finals(want map[string][]string) map[string]string {
	out := map[string]string{}
	for k, s := range want {
		out[k] = s[len(s)-1]
	}
	return out
}

// jsonEqual compares two JSON documents by value.
func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
