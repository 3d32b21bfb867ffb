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

	"github.com/membergate/membergate/internal/openstackauth"
)

// envFileVar names a variable that points at another env file than
// test/openstack/.data/env.
const envFileVar = "MEMBERGATE_OPENSTACK_ENV"

// stack is the real OpenStack that test/openstack/up.sh started, as its env
// file describes it.
type stack struct {
	vars map[string]string

	mu      sync.Mutex
	clients map[string]*openstackauth.Clients // by cloud name
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
	for _, k := range []string{"OS_OCTAVIA_ENDPOINT", "OS_NEUTRON_ENDPOINT", "OS_PROJECT_ID", "OS_DB_SOCKET", "OS_CTL",
		"OS_AUTH_URL", "OS_REGION_NAME", "OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME", "OS_APPCRED_ID", "OS_APPCRED_SECRET"} {
		if vars[k] == "" {
			return nil, fmt.Errorf("%s: %s is not set", path, k)
		}
	}
	s := &stack{vars: vars, clients: map[string]*openstackauth.Clients{}}
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

// The clouds of the stack's clouds.yaml: the member user by password, and
// the member's application credential. Neither overrides an endpoint: the
// clients find Octavia and Neutron in Keystone's catalog.
const (
	cloudPassword = "membergate"
	cloudAppCred  = "membergate-appcred"
)

// cloudsYAML is a clouds.yaml for the stack's Keystone with both clouds, as
// an operator (or CAPO's identity Secret) would write it. appCredSecret
// replaces the application credential's secret when not empty.
func (s *stack) cloudsYAML(appCredID, appCredSecret string) string {
	return fmt.Sprintf(`clouds:
  %s:
    auth:
      auth_url: %s
      username: %s
      password: %s
      project_name: %s
      user_domain_name: Default
      project_domain_name: Default
    region_name: %s
    interface: public
    identity_api_version: 3
  %s:
    auth_type: v3applicationcredential
    auth:
      auth_url: %s
      application_credential_id: %s
      application_credential_secret: %s
    region_name: %s
    interface: public
    identity_api_version: 3
`, cloudPassword, s.get("OS_AUTH_URL"), s.get("OS_USERNAME"), s.get("OS_PASSWORD"), s.get("OS_PROJECT_NAME"), s.get("OS_REGION_NAME"),
		cloudAppCred, s.get("OS_AUTH_URL"), appCredID, appCredSecret, s.get("OS_REGION_NAME"))
}

// stackClouds is the stack's clouds.yaml with the application credential
// up.sh made.
func (s *stack) stackClouds() string {
	return s.cloudsYAML(s.get("OS_APPCRED_ID"), s.get("OS_APPCRED_SECRET"))
}

// testRequestTimeout replaces openstackauth's per-request bound for the
// suite: the first request a service validates costs keystonemiddleware a
// login of its own, which on a loaded machine has taken 20 s.
const testRequestTimeout = 60 * time.Second

// cloud returns the Octavia and Neutron clients of one of the stack's
// clouds, authenticated once and shared: gophercloud logs in again when
// the token expires.
func (s *stack) cloud(t testing.TB, name string) *openstackauth.Clients {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.clients[name]; c != nil {
		return c
	}
	c, err := openstackauth.NewClients(context.Background(), openstackauth.Options{Cloud: name,
		CloudsYAML: []byte(s.stackClouds()), CloudsSource: "the stack's clouds.yaml", Getenv: openstackauth.NoEnvironment})
	if err != nil {
		t.Fatalf("authenticating with the stack's Keystone as cloud %q: %v", name, err)
	}
	c.LoadBalancer.HTTPClient.Timeout = testRequestTimeout
	s.clients[name] = c
	return c
}

// octavia returns a load-balancer client for the stack's Octavia, found in
// Keystone's catalog, acting as the member user in its project.
func (s *stack) octavia(t testing.TB) *gophercloud.ServiceClient {
	return s.cloud(t, cloudPassword).LoadBalancer
}

// neutron returns a network client for the stack's Neutron, as the member
// user: creates land in its project, lists show its project's objects.
func (s *stack) neutron(t testing.TB) *gophercloud.ServiceClient {
	return s.cloud(t, cloudPassword).Network
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
