package openstackauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
)

const (
	testUser     = "demo"
	testPassword = "s3cret-Pa55"
	testProject  = "0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f"
)

// cleanEnv blanks every OS_* variable, so that the developer's own cloud
// settings cannot leak into a test, and moves HOME so that no
// ~/.config/openstack file is found.
func cleanEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "OS_") {
			t.Setenv(k, "")
		}
	}
	for _, k := range []string{"OS_CLOUD", "OS_CLIENT_CONFIG_FILE", "OS_AUTH_URL", "OS_AUTH_TYPE", "OS_ENDPOINT_OVERRIDE", "OS_PROJECT_ID"} {
		t.Setenv(k, "")
	}
	t.Setenv("HOME", t.TempDir())
}

func writeClouds(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "clouds.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func newServer(t *testing.T) *octaviatest.Server {
	t.Helper()
	srv := octaviatest.NewServer(octaviatest.Options{Users: map[string]string{testUser: testPassword}})
	t.Cleanup(srv.Close)
	return srv
}

func passwordClouds(authURL, password string) string {
	return `clouds:
  other:
    auth:
      auth_url: http://192.0.2.1:5000/v3
  test:
    auth:
      auth_url: ` + authURL + `
      username: ` + testUser + `
      password: ` + password + `
      project_id: ` + testProject + `
      user_domain_name: Default
    region_name: RegionOne
    interface: public
    identity_api_version: 3
`
}

// mustCreateLB proves the client works end to end and returns the project
// Octavia attributed the load balancer to.
func mustCreateLB(t *testing.T, sc *gophercloud.ServiceClient) string {
	t.Helper()
	lb, err := loadbalancers.Create(context.Background(), sc, loadbalancers.CreateOpts{Name: "probe", VipSubnetID: "0f6b3a2c-1d4e-4f5a-8b6c-7d8e9f0a1b2c"}).Extract()
	if err != nil {
		t.Fatalf("create load balancer through the client: %v", err)
	}
	return lb.ProjectID
}

func configError(t *testing.T, err error, wants ...string) {
	t.Helper()
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T), want a *ConfigError", err, err)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

func TestMalformedCloudsYAML(t *testing.T) {
	cleanEnv(t)
	path := writeClouds(t, "clouds:\n  test:\n    auth: [\n      auth_url: x\n")
	_, err := NewLoadBalancerClient(context.Background(), Options{Cloud: "test", CloudsFile: path})
	configError(t, err, "malformed clouds.yaml", path, "yaml:")
}

func TestMalformedCloudsYAMLFoundThroughEnv(t *testing.T) {
	cleanEnv(t)
	path := writeClouds(t, "clouds: [1, 2]\n")
	t.Setenv("OS_CLIENT_CONFIG_FILE", path)
	t.Setenv("OS_CLOUD", "test")
	_, err := NewLoadBalancerClient(context.Background(), Options{})
	configError(t, err, "malformed clouds.yaml", path)
}

func TestUnknownCloudListsTheCloudsFound(t *testing.T) {
	cleanEnv(t)
	path := writeClouds(t, passwordClouds("http://192.0.2.1/v3", "x"))
	t.Setenv("OS_CLOUD", "prod")
	_, err := NewLoadBalancerClient(context.Background(), Options{CloudsFile: path})
	configError(t, err, `cloud "prod" (from OS_CLOUD) not found in `+path, "clouds found: other, test")
}

func TestMissingCloudsFile(t *testing.T) {
	cleanEnv(t)
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := NewLoadBalancerClient(context.Background(), Options{Cloud: "test", CloudsFile: missing})
	configError(t, err, missing, "no such file")

	t.Setenv("OS_CLIENT_CONFIG_FILE", missing)
	_, err = NewLoadBalancerClient(context.Background(), Options{Cloud: "test"})
	configError(t, err, missing, "OS_CLIENT_CONFIG_FILE")
}

func TestNoSettingsAtAll(t *testing.T) {
	cleanEnv(t)
	_, err := NewLoadBalancerClient(context.Background(), Options{})
	configError(t, err, "OS_CLOUD", "OS_AUTH_URL")
}

func TestPasswordAuthThroughCloudsYAML(t *testing.T) {
	cleanEnv(t)
	srv := newServer(t)
	t.Setenv("OS_CLIENT_CONFIG_FILE", writeClouds(t, passwordClouds(srv.KeystoneURL(), testPassword)))
	t.Setenv("OS_CLOUD", "test")

	sc, err := NewLoadBalancerClient(context.Background(), Options{UserAgent: "membergate-test"})
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.RequestCount(octaviatest.OpCreateToken); got != 1 {
		t.Errorf("token requests = %d, want 1", got)
	}
	if sc.Endpoint != srv.Endpoint() {
		t.Errorf("endpoint from the catalog = %q, want %q", sc.Endpoint, srv.Endpoint())
	}
	if got := mustCreateLB(t, sc); got != testProject {
		t.Errorf("load balancer project = %q, want the token's %q", got, testProject)
	}
}

func TestPasswordAuthFailureSaysHTTPCodeWithoutSecrets(t *testing.T) {
	cleanEnv(t)
	srv := newServer(t)
	const wrong = "not-the-Pa55word"
	path := writeClouds(t, passwordClouds(srv.KeystoneURL(), wrong))
	_, err := NewLoadBalancerClient(context.Background(), Options{Cloud: "test", CloudsFile: path})
	var ae *AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T), want an *AuthError", err, err)
	}
	if ae.StatusCode != http.StatusUnauthorized || !strings.Contains(err.Error(), "HTTP 401") || !strings.Contains(err.Error(), `cloud "test"`) {
		t.Errorf("error %q should carry HTTP 401 and the cloud", err)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Errorf("error %q leaks the password", err)
	}
}

func TestIncompleteCredentialsAreConfigErrors(t *testing.T) {
	cleanEnv(t)
	srv := newServer(t)
	path := writeClouds(t, `clouds:
  test:
    auth:
      auth_url: `+srv.KeystoneURL()+`
      username: demo
`)
	_, err := NewLoadBalancerClient(context.Background(), Options{Cloud: "test", CloudsFile: path})
	configError(t, err, "incomplete credentials", path)
	if n := srv.TotalRequests(); n != 0 {
		t.Errorf("%d requests sent with incomplete credentials, want none", n)
	}
}

func TestEnvOnlyPasswordAuth(t *testing.T) {
	cleanEnv(t)
	srv := newServer(t)
	t.Setenv("OS_AUTH_URL", srv.KeystoneURL())
	t.Setenv("OS_USERNAME", testUser)
	t.Setenv("OS_PASSWORD", testPassword)
	t.Setenv("OS_PROJECT_NAME", "demo")
	t.Setenv("OS_USER_DOMAIN_NAME", "Default")
	t.Setenv("OS_PROJECT_DOMAIN_NAME", "Default")
	t.Setenv("OS_REGION_NAME", "RegionOne")

	sc, err := NewLoadBalancerClient(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustCreateLB(t, sc)
	if got := srv.RequestCount(octaviatest.OpCreateToken); got != 1 {
		t.Errorf("token requests = %d, want 1", got)
	}
}

func TestKeystoneWithUnknownRegion(t *testing.T) {
	cleanEnv(t)
	srv := newServer(t)
	t.Setenv("OS_AUTH_URL", srv.KeystoneURL())
	t.Setenv("OS_USERNAME", testUser)
	t.Setenv("OS_PASSWORD", testPassword)
	t.Setenv("OS_PROJECT_ID", testProject)
	t.Setenv("OS_USER_DOMAIN_NAME", "Default")
	t.Setenv("OS_REGION_NAME", "Mars")
	_, err := NewLoadBalancerClient(context.Background(), Options{})
	configError(t, err, `region "Mars" is not in the service catalog`)

	// An endpoint override skips the catalog.
	sc, err := NewLoadBalancerClient(context.Background(), Options{EndpointOverride: srv.URL + "/v2.0"})
	if err != nil {
		t.Fatal(err)
	}
	if want := srv.URL + "/v2.0/"; sc.ResourceBase != want {
		t.Errorf("resource base = %q, want %q", sc.ResourceBase, want)
	}
	mustCreateLB(t, sc)
}

func TestNoAuthWithEndpointOverrideInCloudsYAML(t *testing.T) {
	cleanEnv(t)
	srv := newServer(t)
	path := writeClouds(t, `clouds:
  devstack-noauth:
    auth_type: none
    auth:
      project_id: `+testProject+`
    load_balancer_endpoint_override: `+srv.URL+`
`)
	// A single cloud in an explicit file needs no name.
	sc, err := NewLoadBalancerClient(context.Background(), Options{CloudsFile: path})
	if err != nil {
		t.Fatal(err)
	}
	if got := sc.MoreHeaders["X-Project-Id"]; got != testProject {
		t.Errorf("X-Project-Id = %q, want %q", got, testProject)
	}
	if got := mustCreateLB(t, sc); got != testProject {
		t.Errorf("load balancer project = %q, want %q", got, testProject)
	}
	if n := srv.RequestCount(octaviatest.OpCreateToken); n != 0 {
		t.Errorf("noauth asked Keystone %d times", n)
	}
}

func TestNoAuthFromEnvironment(t *testing.T) {
	cleanEnv(t)
	srv := newServer(t)
	t.Setenv("OS_AUTH_TYPE", "noauth")
	t.Setenv("OS_ENDPOINT_OVERRIDE", srv.URL+"/")
	t.Setenv("OS_PROJECT_ID", testProject)
	sc, err := NewLoadBalancerClient(context.Background(), Options{ProjectID: "aaaabbbbccccddddeeeeffff00001111"})
	if err != nil {
		t.Fatal(err)
	}
	if got := mustCreateLB(t, sc); got != "aaaabbbbccccddddeeeeffff00001111" {
		t.Errorf("load balancer project = %q, want Options.ProjectID", got)
	}
}

func TestNoAuthWithoutEndpoint(t *testing.T) {
	cleanEnv(t)
	path := writeClouds(t, "clouds:\n  local:\n    auth_type: none\n")
	_, err := NewLoadBalancerClient(context.Background(), Options{Cloud: "local", CloudsFile: path})
	configError(t, err, `cloud "local"`, "load_balancer_endpoint_override", "OS_ENDPOINT_OVERRIDE")
}

func TestOctaviaURLs(t *testing.T) {
	for in, want := range map[string][2]string{
		"http://octavia:9876":          {"http://octavia:9876/", "http://octavia:9876/v2.0/"},
		"https://lb.example/api/":      {"https://lb.example/api/", "https://lb.example/api/v2.0/"},
		"http://octavia:9876/v2":       {"http://octavia:9876/", "http://octavia:9876/v2/"},
		"http://octavia:9876/lb/v2.0/": {"http://octavia:9876/lb/", "http://octavia:9876/lb/v2.0/"},
	} {
		ep, rb, err := octaviaURLs(in)
		if err != nil || ep != want[0] || rb != want[1] {
			t.Errorf("octaviaURLs(%q) = %q, %q, %v; want %q, %q", in, ep, rb, err, want[0], want[1])
		}
	}
	if _, _, err := octaviaURLs("octavia:9876"); err == nil {
		t.Error("a URL without scheme was accepted")
	}
}

// Options.Region (CAPO's identityRef.region) wins over the cloud's
// region_name both ways: it finds the catalog's endpoint where the file
// names a region the catalog lacks, and it is the region looked for when
// the file names the right one.
func TestRegionOverridesTheCloud(t *testing.T) {
	cleanEnv(t)
	srv := newServer(t)
	clouds := func(region string) string {
		return `clouds:
  test:
    auth:
      auth_url: ` + srv.KeystoneURL() + `
      username: ` + testUser + `
      password: ` + testPassword + `
      project_id: ` + testProject + `
      user_domain_name: Default
    region_name: ` + region + `
`
	}
	sc, err := NewLoadBalancerClient(context.Background(), Options{Cloud: "test", CloudsYAML: []byte(clouds("Mars")), Region: "RegionOne"})
	if err != nil {
		t.Fatal(err)
	}
	mustCreateLB(t, sc)
	_, err = NewLoadBalancerClient(context.Background(), Options{Cloud: "test", CloudsYAML: []byte(clouds("RegionOne")), Region: "Mars"})
	configError(t, err, `region "Mars" is not in the service catalog`)
}

// keystoneGate fronts the emulator: once revoked it refuses every login as
// Keystone does a deleted application credential's (404), once expired it refuses every
// token Octavia is shown (tokens past their lifetime).
type keystoneGate struct {
	srv              *octaviatest.Server
	revoked, expired atomic.Bool
}

func (k *keystoneGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	unauthorized := func() {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}`))
	}
	isLogin := r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/auth/tokens")
	switch {
	case isLogin && k.revoked.Load():
		// What Keystone 22 answers for a deleted application credential.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error": {"code": 404, "title": "Not Found", "message": "Could not find Application Credential: ` + testAppCred + `."}}`))
		return
	case isLogin:
		k.expired.Store(false)
	case k.expired.Load() && strings.HasPrefix(r.URL.Path, "/v2"):
		unauthorized()
		return
	}
	u, _ := url.Parse(k.srv.URL)
	httputil.NewSingleHostReverseProxy(u).ServeHTTP(w, r)
}

func appCredClouds(authURL, secret string) string {
	return `clouds:
  test:
    auth_type: v3applicationcredential
    auth:
      auth_url: ` + authURL + `
      application_credential_id: ` + testAppCred + `
      application_credential_secret: ` + secret + `
    region_name: RegionOne
`
}

const testAppCred = "4f1c2e3d5a6b7c8d9e0f1a2b3c4d5e6f"

func TestUnknownRegionNamesTheCatalogsRegions(t *testing.T) {
	cleanEnv(t)
	srv := newServer(t)
	path := writeClouds(t, strings.Replace(passwordClouds(srv.KeystoneURL(), testPassword), "region_name: RegionOne", "region_name: Mars", 1))
	_, err := NewLoadBalancerClient(context.Background(), Options{Cloud: "test", CloudsFile: path})
	configError(t, err, `region "Mars" is not in the service catalog`, "RegionOne", "set region_name")
}

func TestWrongPasswordNamesTheProjectToCheck(t *testing.T) {
	cleanEnv(t)
	srv := newServer(t)
	const wrong = "not-the-Pa55word"
	path := writeClouds(t, passwordClouds(srv.KeystoneURL(), wrong))
	_, err := NewLoadBalancerClient(context.Background(), Options{Cloud: "test", CloudsFile: path})
	if err == nil || !strings.Contains(err.Error(), "a role on project "+testProject) || !strings.Contains(err.Error(), "user "+testUser) {
		t.Errorf("error %q should name the user and the project to check", err)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Errorf("error %q leaks the password", err)
	}
}

func TestRefusedApplicationCredentialSaysToReplaceIt(t *testing.T) {
	cleanEnv(t)
	srv := octaviatest.NewServer(octaviatest.Options{Users: map[string]string{testAppCred: "right-5ecret"}})
	t.Cleanup(srv.Close)
	const wrong = "wrong-5ecret-value"
	path := writeClouds(t, appCredClouds(srv.KeystoneURL(), wrong))
	_, err := NewLoadBalancerClient(context.Background(), Options{Cloud: "test", CloudsFile: path})
	if err == nil || !strings.Contains(err.Error(), "application credential "+testAppCred) || !strings.Contains(err.Error(), "deleted or expired") {
		t.Errorf("error %q should say the application credential was refused and how to fix it", err)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Errorf("error %q leaks the secret", err)
	}
}

// TestLoginAgainRefusedIsAnAuthError: the token expires, and logging in
// again fails (the application credential was deleted meanwhile): the
// request's error says so, names the cloud, and carries no secret.
func TestLoginAgainRefusedIsAnAuthError(t *testing.T) {
	cleanEnv(t)
	const secret = "right-5ecret"
	srv := octaviatest.NewServer(octaviatest.Options{Users: map[string]string{testAppCred: secret}})
	t.Cleanup(srv.Close)
	kg := &keystoneGate{srv: srv}
	front := httptest.NewServer(kg)
	t.Cleanup(front.Close)
	path := writeClouds(t, appCredClouds(front.URL+"/identity/v3", secret))
	sc, err := NewLoadBalancerClient(context.Background(), Options{Cloud: "test", CloudsFile: path})
	if err != nil {
		t.Fatal(err)
	}
	token := sc.Token()
	// The catalog names the emulator itself; send Octavia's requests
	// through the gate too.
	sc.Endpoint, sc.ResourceBase = front.URL+"/", front.URL+"/v2/"
	kg.expired.Store(true)
	if _, err := loadbalancers.List(sc, nil).AllPages(context.Background()); err != nil {
		t.Fatalf("an expired token must be replaced without an error: %v", err)
	}
	if sc.Token() == token {
		t.Error("the token was not replaced")
	}

	kg.revoked.Store(true)
	kg.expired.Store(true)
	_, err = loadbalancers.List(sc, nil).AllPages(context.Background())
	if ae, ok := AsAuthError(err); !ok || ae.StatusCode != http.StatusNotFound {
		t.Fatalf("error %v (%T), want an *AuthError with HTTP 404 in its chain", err, err)
	}
	for _, want := range []string{"logging in again", `cloud "test"`, "application credential " + testAppCred, "deleted or expired"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q should say %q", err, want)
		}
	}
	for _, leak := range []string{secret, sc.Token()} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("error %q leaks a secret or token", err)
		}
	}
}
