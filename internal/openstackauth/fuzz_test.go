package openstackauth

// Fuzz targets for what operators and identity services hand this package:
// clouds.yaml (as CAPO's identity Secret carries it), Keystone's error
// bodies and endpoint overrides. Run with hack/fuzz.sh, or e.g.
//
//	go test -run '^$' -fuzz '^FuzzCloudsYAML$' -fuzztime 30s ./internal/openstackauth/
//
// The seed corpus is under testdata/fuzz/<target>.

import (
	"bytes"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
)

// FuzzCloudsYAML parses clouds.yaml content and resolves a cloud from it the
// way the controller does (no environment): never a panic, only
// ConfigErrors, a choice consistent with the clouds found, and no secret in
// any message.
func FuzzCloudsYAML(f *testing.F) {
	f.Add([]byte("clouds:\n  openstack:\n    auth:\n      auth_url: https://keystone.example:5000/v3\n      username: capo\n      password: s3cr3t-passw0rd\n      project_name: k8s\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: RegionOne\n    interface: public\n    identity_api_version: 3\n"), "openstack")
	f.Add([]byte("clouds:\n  appcred:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: https://keystone.example/v3\n      application_credential_id: 0123abcd\n      application_credential_secret: appcred-s3cret-value\n"), "")
	f.Add([]byte("clouds:\n  noauth:\n    auth_type: none\n    load_balancer_endpoint_override: http://127.0.0.1:9876/v2.0\n    auth:\n      project_id: p1\n    verify: false\n"), "noauth")
	f.Add([]byte("clouds:\n  a: {}\n  b: {}\n"), "")
	f.Add([]byte("clouds: [1, 2]\n"), "x")
	f.Add([]byte("clouds:\n  x:\n    verify: maybe\n"), "x")
	f.Add([]byte("clouds:\n  x:\n    cacert: |\n      -----BEGIN CERTIFICATE-----\n      MIIB\n      -----END CERTIFICATE-----\n"), "x")
	f.Add([]byte("\t"), "")
	f.Fuzz(func(t *testing.T, content []byte, cloud string) {
		secrets := secretsIn(content)
		cf, err := parseCloudsFile("clouds.yaml", content)
		if err != nil {
			checkConfigError(t, err, secrets)
			return
		}
		names := cf.names()
		if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
			t.Fatalf("names %v are not sorted and unique", names)
		}
		if name, err := cf.pick(cloud, ""); err != nil {
			checkConfigError(t, err, secrets)
		} else if (cloud != "" && name != cloud) || (cloud == "" && len(names) != 1) || !slices.Contains(names, name) {
			t.Fatalf("picked %q for %q among %v", name, cloud, names)
		}
		s, err := resolve(Options{CloudsYAML: content, CloudsSource: "secret default/capo-identity", Cloud: cloud, Getenv: NoEnvironment})
		if err != nil {
			checkConfigError(t, err, secrets)
			return
		}
		if s.file == nil || (cloud != "" && s.cloudName != cloud) {
			t.Fatalf("resolved %q from %q", s.cloudName, cloud)
		}
		// TLS material given inline, as identity Secrets carry it; paths
		// are not followed here (the fuzzer would read the disk).
		if tlsInline(s.tls) {
			m, err := s.tls.material()
			if err == nil {
				_, err = m.config()
			}
			if err != nil {
				noSecret(t, err.Error(), secrets)
				for _, pem := range []string{s.tls.clientKey, s.tls.clientCert} {
					if body := pemBody(pem); len(body) >= 16 && strings.Contains(err.Error(), body) {
						t.Fatalf("TLS error shows key material: %v", err)
					}
				}
			}
		}
	})
}

func tlsInline(t tlsSettings) bool {
	for _, v := range []string{t.caCert, t.clientCert, t.clientKey} {
		if v != "" && !strings.HasPrefix(strings.TrimSpace(v), "-----BEGIN") {
			return false
		}
	}
	return t.caCert != "" || t.clientCert != "" || t.clientKey != ""
}

func pemBody(pem string) string {
	lines := strings.Split(strings.TrimSpace(pem), "\n")
	if len(lines) < 3 {
		return ""
	}
	return strings.TrimSpace(strings.Join(lines[1:len(lines)-1], ""))
}

// secretsIn returns the values of secret keys that appear once in the
// content (a value that also appears elsewhere — as a cloud name, say — may
// legitimately be quoted in a message).
func secretsIn(content []byte) []string {
	var out []string
	for _, line := range strings.Split(string(content), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		switch strings.Trim(strings.TrimSpace(k), `"'`) {
		case "password", "application_credential_secret", "token", "client_secret":
			v = strings.Trim(strings.TrimSpace(v), `"'`)
			if len(v) >= 8 && bytes.Count(content, []byte(v)) == 1 {
				out = append(out, v)
			}
		}
	}
	return out
}

func checkConfigError(t *testing.T, err error, secrets []string) {
	t.Helper()
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("%T is not a ConfigError: %v", err, err)
	}
	if ce.Msg == "" {
		t.Fatal("a ConfigError without a message")
	}
	noSecret(t, err.Error(), secrets)
}

func noSecret(t *testing.T, msg string, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(msg, s) {
			t.Fatalf("the message shows a secret (%q): %s", s, msg)
		}
	}
}

// FuzzKeystoneError feeds Keystone error answers to the authentication error
// path: an AuthError with the status, one line, Keystone's message cut short.
func FuzzKeystoneError(f *testing.F) {
	f.Add(401, []byte(`{"error": {"message": "The request you have made requires authentication.", "code": 401, "title": "Unauthorized"}}`))
	f.Add(404, []byte(`{"error": {"message": "Could not find project: k8s.\nmore", "code": 404}}`))
	f.Add(500, []byte(`<html><body>Internal Server Error</body></html>`))
	f.Add(403, []byte(`{"error": {"message": 42}}`))
	f.Add(400, []byte(`{"error": {"message": "`+strings.Repeat("é", 150)+`"}}`))
	f.Fuzz(func(t *testing.T, code int, body []byte) {
		err := authError(gophercloud.ErrUnexpectedResponseCode{Actual: code, Body: body},
			gophercloud.AuthOptions{IdentityEndpoint: "https://keystone.example/v3", Username: "demo", Password: "s3cret"}, `cloud "x" in clouds.yaml`)
		var ae *AuthError
		if !errors.As(err, &ae) || ae.StatusCode != code {
			t.Fatalf("%T %v is not an AuthError with status %d", err, err, code)
		}
		m := keystoneMessage(body)
		if strings.ContainsAny(m, "\n") || len(m) > 200+len("…") {
			t.Fatalf("Keystone's message is not one short line: %q", m)
		}
		if !strings.Contains(ae.Msg, "HTTP ") || strings.Contains(ae.Msg, "\n") {
			t.Fatalf("message %q: want the status on one line", ae.Msg)
		}
	})
}

// FuzzEndpointOverride feeds load_balancer_endpoint_override values: either
// an error, or an http(s) service endpoint and a v2 resource base under it.
func FuzzEndpointOverride(f *testing.F) {
	for _, s := range []string{"http://octavia:9876", "https://lb.example/load-balancer/v2.0/", "http://127.0.0.1:9876/v2", "ftp://x", "http://", "http://h/p?q=1#f", "http://h/%2Fv2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		endpoint, base, err := octaviaURLs(raw)
		if err != nil {
			return
		}
		for _, s := range []string{endpoint, base} {
			u, perr := url.Parse(s)
			if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
				t.Fatalf("%q gave %q: not an http(s) URL without query or fragment (%v)", raw, s, perr)
			}
		}
		if !strings.HasSuffix(endpoint, "/") || !strings.HasPrefix(decoded(base), decoded(endpoint)) ||
			!(strings.HasSuffix(base, "/v2/") || strings.HasSuffix(base, "/v2.0/")) {
			t.Fatalf("%q gave endpoint %q and resource base %q", raw, endpoint, base)
		}
		// Written with its version, the override is already a resource
		// base: it must come back as itself (up to percent-encoding).
		if e2, b2, err := octaviaURLs(base); err != nil || decoded(b2) != decoded(base) || decoded(e2) != decoded(endpoint) {
			t.Fatalf("%q: the resource base %q resolves to %q, %q (%v)", raw, base, e2, b2, err)
		}
	})
}

// decoded is a URL with its path percent-decoded, to compare URLs that
// differ only in how they escape.
func decoded(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "unparsable " + s
	}
	return u.Scheme + "://" + u.Host + u.Path
}
