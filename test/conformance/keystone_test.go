package conformance

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/applicationcredentials"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/endpoints"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/regions"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/services"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"

	"github.com/membergate/membergate/internal/openstackauth"
)

// The Keystone half: what operators' credentials meet on a real Keystone
// 22 — password and application-credential logins, the catalog, refusals —
// and the messages membergate gives for each.

// keystoneAdmin is an identity client as the bootstrap admin, for the
// changes a test makes to Keystone itself (a region, an application
// credential) and undoes.
func (s *stack) keystoneAdmin(t testing.TB) *gophercloud.ServiceClient {
	t.Helper()
	return s.identity(t, gophercloud.AuthOptions{IdentityEndpoint: s.get("OS_AUTH_URL"), Username: "admin", Password: s.get("OS_ADMIN_PASSWORD"),
		DomainID: "default", Scope: &gophercloud.AuthScope{ProjectName: "admin", DomainID: "default"}})
}

// keystoneMember is an identity client as the member user: Keystone lets
// only a credential's owner create one.
func (s *stack) keystoneMember(t testing.TB) *gophercloud.ServiceClient {
	t.Helper()
	return s.identity(t, gophercloud.AuthOptions{IdentityEndpoint: s.get("OS_AUTH_URL"), Username: s.get("OS_USERNAME"), Password: s.get("OS_PASSWORD"),
		DomainName: "Default", Scope: &gophercloud.AuthScope{ProjectName: s.get("OS_PROJECT_NAME"), DomainName: "Default"}})
}

func (s *stack) identity(t testing.TB, ao gophercloud.AuthOptions) *gophercloud.ServiceClient {
	t.Helper()
	ao.AllowReauth = true
	pc, err := openstack.NewClient(ao.IdentityEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	pc.HTTPClient.Timeout = testRequestTimeout
	if err := openstack.Authenticate(context.Background(), pc, ao); err != nil {
		t.Fatalf("logging in to Keystone as %s: %v", ao.Username, err)
	}
	ic, err := openstack.NewIdentityV3(pc, gophercloud.EndpointOpts{Region: s.get("OS_REGION_NAME")})
	if err != nil {
		t.Fatal(err)
	}
	return ic
}

// newAppCred creates an application credential of the member user's, for
// a test to delete without touching the stack's own; it is deleted (if
// still there) when the test ends.
func (s *stack) newAppCred(t testing.TB, name string) (id, secret string) {
	t.Helper()
	ic := s.keystoneMember(t)
	user := s.get("OS_MEMBER_USER_ID")
	ac, err := applicationcredentials.Create(context.Background(), ic, user, applicationcredentials.CreateOpts{
		Name: fmt.Sprintf("%s-%d", name, len(name)+int(appCredSeq.Add(1)))}).Extract()
	if err != nil {
		t.Fatalf("creating an application credential: %v", err)
	}
	t.Cleanup(func() { _ = applicationcredentials.Delete(context.Background(), ic, user, ac.ID).ExtractErr() })
	return ac.ID, ac.Secret
}

var appCredSeq atomic.Int64

func (s *stack) deleteAppCred(t testing.TB, id string) {
	t.Helper()
	if err := applicationcredentials.Delete(context.Background(), s.keystoneMember(t), s.get("OS_MEMBER_USER_ID"), id).ExtractErr(); err != nil {
		t.Fatalf("deleting application credential %s: %v", id, err)
	}
}

// tokenCounter is a reverse proxy in front of Keystone that counts logins
// (POST /v3/auth/tokens): a clouds.yaml whose auth_url points at it has
// every login of one client counted, and nobody else's.
type tokenCounter struct {
	srv    *httptest.Server
	logins atomic.Int64
}

func newTokenCounter(t testing.TB, keystone string) *tokenCounter {
	t.Helper()
	u, err := url.Parse(keystone)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = ""
	tc := &tokenCounter{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	tc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/auth/tokens") {
			tc.logins.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(tc.srv.Close)
	return tc
}

func (tc *tokenCounter) authURL() string { return tc.srv.URL + "/v3" }

// cloudsVia is the stack's clouds.yaml with auth_url replaced.
func (s *stack) cloudsVia(authURL, appCredID, appCredSecret string) string {
	return strings.ReplaceAll(s.cloudsYAML(appCredID, appCredSecret), "auth_url: "+s.get("OS_AUTH_URL"), "auth_url: "+authURL)
}

// secretsOf are the strings no message may carry: the stack's passwords
// and application-credential secret, and any extra given.
func (s *stack) secretsOf(extra ...string) []string {
	out := []string{s.get("OS_PASSWORD"), s.get("OS_APPCRED_SECRET"), s.get("OS_ADMIN_PASSWORD")}
	for _, e := range extra {
		if e != "" {
			out = append(out, e)
		}
	}
	return out
}

func assertNoSecret(t testing.TB, where, text string, secrets []string) {
	t.Helper()
	for _, sec := range secrets {
		if sec != "" && strings.Contains(text, sec) {
			t.Errorf("%s carries a secret (%d characters): %s", where, len(sec), strings.ReplaceAll(text, sec, "<SECRET>"))
		}
	}
}

// TestKeystoneLogins: both clouds of the stack's clouds.yaml log in and
// find Octavia and Neutron in the catalog, without endpoint overrides.
func TestKeystoneLogins(t *testing.T) {
	s := realStack(t)
	for _, cloud := range []string{cloudPassword, cloudAppCred} {
		c := s.cloud(t, cloud)
		if c.ProjectID != s.get("OS_PROJECT_ID") {
			t.Errorf("%s: project %q, want the member's %q", cloud, c.ProjectID, s.get("OS_PROJECT_ID"))
		}
		if got, want := c.LoadBalancer.Endpoint, s.get("OS_OCTAVIA_ENDPOINT"); got != want {
			t.Errorf("%s: Octavia at %q from the catalog, want %q", cloud, got, want)
		}
		if got, want := c.Network.Endpoint, s.get("OS_NEUTRON_ENDPOINT"); got != want {
			t.Errorf("%s: Neutron at %q from the catalog, want %q", cloud, got, want)
		}
	}
}

// TestKeystoneRefusalsSayWhatToFix: each way a clouds.yaml can be wrong
// against a real Keystone gets a message naming what to change, and none
// carries a password or secret.
func TestKeystoneRefusalsSayWhatToFix(t *testing.T) {
	s := realStack(t)
	// A region with Neutron but no Octavia: a catalog without a
	// load-balancer endpoint there.
	admin := s.keystoneAdmin(t)
	region := fmt.Sprintf("NoOctavia%d", appCredSeq.Add(1))
	if _, err := regions.Create(ctx, admin, regions.CreateOpts{ID: region}).Extract(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = regions.Delete(ctx, admin, region).ExtractErr() })
	pages, err := services.List(admin, services.ListOpts{ServiceType: "network"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	svcs, err := services.ExtractServices(pages)
	if err != nil || len(svcs) != 1 {
		t.Fatalf("network services %v (%v)", svcs, err)
	}
	ep, err := endpoints.Create(ctx, admin, endpoints.CreateOpts{Availability: gophercloud.AvailabilityPublic, Region: region,
		URL: s.get("OS_NEUTRON_ENDPOINT"), ServiceID: svcs[0].ID, Name: "neutron"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = endpoints.Delete(ctx, admin, ep.ID).ExtractErr() })

	const wrongPassword = "not-the-membergate-password"
	const wrongSecret = "not-the-application-credential-secret"
	good := s.stackClouds()
	for _, tc := range []struct {
		name, cloud, clouds string
		wants               []string
	}{
		{"wrong password", cloudPassword, strings.Replace(good, "password: "+s.get("OS_PASSWORD"), "password: "+wrongPassword, 1),
			[]string{"HTTP 401", "check the password of user " + s.get("OS_USERNAME"), "project " + s.get("OS_PROJECT_NAME")}},
		{"wrong project", cloudPassword, strings.Replace(good, "project_name: "+s.get("OS_PROJECT_NAME"), "project_name: membergate-other", 1),
			[]string{"HTTP 401", "has a role on project membergate-other"}},
		{"wrong application credential secret", cloudAppCred, s.cloudsYAML(s.get("OS_APPCRED_ID"), wrongSecret),
			[]string{"HTTP 401", "application credential " + s.get("OS_APPCRED_ID") + " was refused", "create a new one"}},
		{"unknown region", cloudPassword, strings.Replace(good, "region_name: "+s.get("OS_REGION_NAME"), "region_name: Atlantis", 1),
			[]string{`region "Atlantis" is not in the service catalog`, s.get("OS_REGION_NAME")}},
		{"no load-balancer endpoint", cloudPassword, strings.Replace(good, "region_name: "+s.get("OS_REGION_NAME"), "region_name: "+region, 1),
			[]string{"no load-balancer endpoint in region " + fmt.Sprintf("%q", region), "only in " + s.get("OS_REGION_NAME")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := openstackauth.NewClients(ctx, openstackauth.Options{Cloud: tc.cloud, CloudsYAML: []byte(tc.clouds),
				CloudsSource: "identity Secret drill/cloud-config", Getenv: openstackauth.NoEnvironment})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			assertNoSecret(t, "the error", err.Error(), s.secretsOf(wrongPassword, wrongSecret))
			report.note("Keystone, %s: `%s`", tc.name, err)
		})
	}
}

// TestCLIThroughKeystone: membergate wait and membergate diagnose, as an
// operator runs them, with a clouds.yaml (application credential and
// password) and the catalog.
func TestCLIThroughKeystone(t *testing.T) {
	s := realStack(t)
	b := newOctaviaBackend(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "membergate")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/membergate/membergate/cmd/membergate").CombinedOutput(); err != nil {
		t.Fatalf("building membergate: %v: %s", err, out)
	}
	clouds := filepath.Join(dir, "clouds.yaml")
	if err := os.WriteFile(clouds, []byte(s.stackClouds()), 0o600); err != nil {
		t.Fatal(err)
	}
	// A real subnet, for diagnose to trace the member to its port.
	nc := s.neutron(t)
	net, err := networks.Create(ctx, nc, networks.CreateOpts{Name: "cli-" + filepath.Base(dir)}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = networks.Delete(ctx, nc, net.ID).ExtractErr() })
	sub, err := subnets.Create(ctx, nc, subnets.CreateOpts{NetworkID: net.ID, CIDR: "10.0.9.0/24", IPVersion: gophercloud.IPv4}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	port, err := ports.Create(ctx, nc, ports.CreateOpts{NetworkID: net.ID, FixedIPs: []ports.IP{{SubnetID: sub.ID, IPAddress: "10.0.9.9"}}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ports.Delete(ctx, nc, port.ID).ExtractErr() })
	lbID, poolID := buildTreeOn(t, b, sub.ID, true)
	if _, err := pools.CreateMember(ctx, b.client, poolID, pools.CreateMemberOpts{Name: "cli", Address: "10.0.9.9", ProtocolPort: 6443, SubnetID: sub.ID}).Extract(); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("wait", "--os-config-file", clouds, "--os-cloud", cloudAppCred, "--loadbalancer", lbID, "--member", "10.0.9.9:6443", "--for", "provisioned", "--timeout", "3m")
	if err != nil {
		t.Fatalf("membergate wait: %v: %s", err, out)
	}
	assertNoSecret(t, "wait's output", out, s.secretsOf())
	// The trace: Octavia's members, Neutron's port and groups, found in
	// the catalog. Exit 0 (nothing missing) or 6 (a rule missing on the
	// port's default group) both mean it read both services.
	out, err = run("diagnose", "--os-config-file", clouds, "--os-cloud", cloudPassword, "--loadbalancer", lbID)
	if ee, ok := err.(*exec.ExitError); (err != nil && (!ok || ee.ExitCode() != 6)) || !strings.Contains(out, "10.0.9.9") {
		t.Fatalf("membergate diagnose: %v: %s", err, out)
	}
	assertNoSecret(t, "diagnose's output", out, s.secretsOf())
	// A refused login: exit 1 and the message, without the secret.
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(s.cloudsYAML(s.get("OS_APPCRED_ID"), "wrong-secret-for-the-cli")), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = run("wait", "--os-config-file", bad, "--os-cloud", cloudAppCred, "--loadbalancer", lbID, "--member", "10.0.9.9:6443", "--for", "provisioned", "--timeout", "1m")
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(out, "was refused") {
		t.Errorf("wait with a wrong secret: %v: %s", err, out)
	}
	assertNoSecret(t, "wait's output", out, s.secretsOf("wrong-secret-for-the-cli"))
}
