package openstackauth

import (
	"context"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"

	"github.com/membergate/membergate/extension/extensiontest"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
)

// loginReusesConnection builds a client with opts and reports whether its
// login went over a connection another client had opened.
func loginReusesConnection(t *testing.T, opts Options) bool {
	t.Helper()
	var reused, got bool
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		if !got {
			got, reused = true, info.Reused
		}
	}})
	if _, err := NewLoadBalancerClient(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if !got {
		t.Fatal("the login made no request")
	}
	return reused
}

func TestClientsWithTheSameTLSShareConnections(t *testing.T) {
	srv := octaviatest.NewServer(octaviatest.Options{Users: map[string]string{"tenant-a": "a-5ecret", "tenant-b": "b-5ecret"}})
	t.Cleanup(srv.Close)
	clouds := func(user, password string) []byte {
		return []byte(strings.NewReplacer("USER", user, "PASSWORD", password, "URL", srv.KeystoneURL()).Replace(
			"clouds:\n  openstack:\n    auth: {auth_url: URL, username: USER, password: PASSWORD, project_name: capo, user_domain_name: Default, project_domain_name: Default}\n    region_name: RegionOne\n"))
	}
	identity := func(user, password string, tr *Transports) Options {
		return Options{CloudsYAML: clouds(user, password), CloudsSource: "Secret " + user, Getenv: NoEnvironment, Tenant: true, Transports: tr}
	}

	shared := &Transports{}
	if loginReusesConnection(t, identity("tenant-a", "a-5ecret", shared)) {
		t.Fatal("the first client found a connection open before it")
	}
	if !loginReusesConnection(t, identity("tenant-b", "b-5ecret", shared)) {
		t.Error("a second identity on the same cloud and TLS settings opened a connection of its own; want the first identity's, shared")
	}
	if loginReusesConnection(t, identity("tenant-b", "b-5ecret", nil)) {
		t.Error("a client without Transports reused another's connection; want a transport of its own")
	}
}

func TestTransportsKeepTLSSettingsApart(t *testing.T) {
	caA, caB := testCA(t), testCA(t)
	certA, certB := testCertificate(t), testCertificate(t)
	transport := func(tr *Transports, tls tlsSettings) *http.Transport {
		t.Helper()
		s := &settings{tls: tls, where: "test"}
		hc, err := s.httpClient(Options{Transports: tr})
		if err != nil {
			t.Fatal(err)
		}
		return hc.Transport.(cappedBodies).next.(*http.Transport)
	}
	tr := &Transports{}
	base := transport(tr, tlsSettings{caCert: caA})
	for _, c := range []struct {
		name  string
		tls   tlsSettings
		share bool
	}{
		{"the same CA", tlsSettings{caCert: caA}, true},
		{"the same CA with other whitespace", tlsSettings{caCert: "\n" + caA}, false},
		{"another CA", tlsSettings{caCert: caB}, false},
		{"the system's CAs", tlsSettings{}, false},
		{"certificate checks off", tlsSettings{caCert: caA, insecure: true}, false},
		{"a client certificate", tlsSettings{caCert: caA, clientCert: certA.cert, clientKey: certA.key}, false},
	} {
		if got := transport(tr, c.tls) == base; got != c.share {
			t.Errorf("%s: shares the transport = %v, want %v", c.name, got, c.share)
		}
	}
	withA := transport(tr, tlsSettings{caCert: caA, clientCert: certA.cert, clientKey: certA.key})
	if transport(tr, tlsSettings{caCert: caA, clientCert: certA.cert, clientKey: certA.key}) != withA {
		t.Error("two clients presenting the same certificate have different transports; want one")
	}
	if transport(tr, tlsSettings{caCert: caA, clientCert: certB.cert, clientKey: certB.key}) == withA {
		t.Error("clients presenting different certificates share a transport: one would present the other's")
	}
	if got := transport(tr, tlsSettings{caCert: caA}).MaxIdleConnsPerHost; got != maxIdleConnsPerHost {
		t.Errorf("a shared transport keeps %d idle connections per host, want %d", got, maxIdleConnsPerHost)
	}
}

func TestTransportsRefuseBadTLSLikeAClientOfItsOwn(t *testing.T) {
	good := testCertificate(t)
	tr := &Transports{}
	for _, c := range []struct {
		name string
		tls  tlsSettings
		want string
	}{
		{"a cacert without a certificate", tlsSettings{caCert: "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n"}, "cacert (inline PEM) holds no PEM certificate"},
		{"a key that is not the certificate's", tlsSettings{clientCert: good.cert, clientKey: testCertificate(t).key}, "client certificate (inline PEM)"},
		{"a certificate without its key", tlsSettings{clientCert: good.cert}, "needs both cert and key"},
	} {
		for _, shared := range []*Transports{nil, tr} {
			s := &settings{tls: c.tls, where: "Secret test"}
			if _, err := s.httpClient(Options{Transports: shared}); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s (shared %v): error %v, want one saying %q", c.name, shared != nil, err, c.want)
			}
		}
	}
}

func TestTransportsForgetPastTheirBound(t *testing.T) {
	tr := &Transports{}
	for range maxTransports + 10 {
		s := &settings{tls: tlsSettings{caCert: testCA(t)}, where: "test"}
		if _, err := s.httpClient(Options{Transports: tr}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(tr.byTLS); n != maxTransports {
		t.Errorf("%d transports kept after %d TLS settings, want at most %d", n, maxTransports+10, maxTransports)
	}
}

type pemPair struct{ cert, key string }

// testCA is a throw-away CA's certificate, in PEM.
func testCA(t *testing.T) string {
	t.Helper()
	ca, err := extensiontest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	return string(ca.PEM)
}

// testCertificate is a certificate a throw-away CA issued, and its key, in
// PEM.
func testCertificate(t *testing.T) pemPair {
	t.Helper()
	ca, err := extensiontest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := ca.ServingCert([]string{"membergate"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return pemPair{cert: string(cert), key: string(key)}
}
