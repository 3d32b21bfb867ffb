package conformance

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
)

// envFileVar names a variable that points at another env file than
// test/openstack/.data/env.
const envFileVar = "MEMBERGATE_OPENSTACK_ENV"

// stack is the real OpenStack that test/openstack/up.sh started, as its env
// file describes it.
type stack struct {
	vars map[string]string
}

var (
	stackOnce sync.Once
	theStack  *stack
	stackErr  error
)

// realStack returns the running stack, or skips the test (fails it under the
// openstack build tag) when there is none.
func realStack(t testing.TB) *stack {
	t.Helper()
	stackOnce.Do(func() { theStack, stackErr = loadStack() })
	if stackErr != nil {
		msg := fmt.Sprintf("no real OpenStack: %v — run `make openstack-up` (or test/openstack/up.sh) first", stackErr)
		if stackRequired {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return theStack
}

func envFilePath() string {
	if p := os.Getenv(envFileVar); p != "" {
		return p
	}
	return filepath.Join("..", "openstack", ".data", "env")
}

func loadStack() (*stack, error) {
	path := envFilePath()
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s: malformed line %q", path, line)
		}
		vars[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, k := range []string{"OS_OCTAVIA_ENDPOINT", "OS_NEUTRON_ENDPOINT", "OS_PROJECT_ID", "OS_DB_SOCKET", "OS_CTL"} {
		if vars[k] == "" {
			return nil, fmt.Errorf("%s: %s is not set", path, k)
		}
	}
	s := &stack{vars: vars}
	// An env file outlives a stopped stack: make sure Octavia answers.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.vars["OS_OCTAVIA_ENDPOINT"], nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s names Octavia at %s, which does not answer: %w", path, s.vars["OS_OCTAVIA_ENDPOINT"], err)
	}
	resp.Body.Close()
	return s, nil
}

func (s *stack) get(k string) string { return s.vars[k] }

// octavia returns a load-balancer client for the noauth Octavia. It sends
// X-Project-Id: Octavia under noauth takes the project from it, and refuses
// creates without one.
func (s *stack) octavia() *gophercloud.ServiceClient {
	ep := s.get("OS_OCTAVIA_ENDPOINT")
	return &gophercloud.ServiceClient{
		ProviderClient: &gophercloud.ProviderClient{HTTPClient: http.Client{Timeout: 30 * time.Second}},
		Endpoint:       ep,
		ResourceBase:   ep + "v2/",
		Type:           "load-balancer",
		MoreHeaders:    map[string]string{"X-Project-Id": s.get("OS_PROJECT_ID")},
	}
}

// neutron returns a network client for the noauth Neutron. It sends no
// project header: Neutron then runs requests as admin (with the header it
// would insist on project_id in every body), and creates name their project
// in the body.
func (s *stack) neutron() *gophercloud.ServiceClient {
	ep := s.get("OS_NEUTRON_ENDPOINT")
	return &gophercloud.ServiceClient{
		ProviderClient: &gophercloud.ProviderClient{HTTPClient: http.Client{Timeout: 30 * time.Second}},
		Endpoint:       ep,
		ResourceBase:   ep + "v2.0/",
		Type:           "network",
	}
}

// sql runs statements in Octavia's database and returns the rows, tab
// separated: the fault injection the API reports on its next GET.
func (s *stack) sql(t testing.TB, query string, args ...any) string {
	t.Helper()
	q := fmt.Sprintf(query, args...)
	cmd := exec.Command("mariadb", "--no-defaults", "--socket="+s.get("OS_DB_SOCKET"), "-u"+s.get("OS_DB_USER"),
		"-D", s.get("OS_DB_OCTAVIA"), "-N", "-B", "-e", q)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sql %q: %v: %s", q, err, out)
	}
	return strings.TrimSpace(string(out))
}

// ctl starts or stops one service through test/openstack/ctl.sh, which
// returns once a started service answers.
func (s *stack) ctl(t testing.TB, action, service string) time.Duration {
	t.Helper()
	start := time.Now()
	out, err := exec.Command(s.get("OS_CTL"), action, service).CombinedOutput()
	if err != nil {
		t.Fatalf("ctl.sh %s %s: %v: %s", action, service, err, out)
	}
	return time.Since(start)
}

// ensureRunning restarts services a failed test may have left stopped, so
// one failure does not cascade into every later test.
func (s *stack) ensureRunning(t testing.TB, services ...string) {
	t.Helper()
	for _, svc := range services {
		if err := exec.Command(s.get("OS_CTL"), "status", svc).Run(); err != nil {
			s.ctl(t, "start", svc)
		}
	}
}
