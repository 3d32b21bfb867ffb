package openstackauth

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// tlsSettings are clouds.yaml's cacert, cert, key and verify.
type tlsSettings struct {
	// caCert, clientCert and clientKey are file paths or, as CAPO's
	// identityRef Secrets carry them, PEM content.
	caCert, clientCert, clientKey string
	insecure                      bool
}

// httpClient returns the HTTP client for Keystone and Octavia.
func (s *settings) httpClient(wrap func(http.RoundTripper) http.RoundTripper) (*http.Client, error) {
	cfg, err := s.tls.config()
	if err != nil {
		return nil, s.configError(err, "%s: %v", s.where, err)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = cfg
	var rt http.RoundTripper = cappedBodies{next: transport}
	if wrap != nil {
		rt = wrap(rt)
	}
	return &http.Client{Transport: rt, Timeout: RequestTimeout}, nil
}

func (t tlsSettings) config() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.insecure} //nolint:gosec // verify: false is the operator's explicit choice
	if t.caCert != "" {
		pem, err := pathOrContents(t.caCert)
		if err != nil {
			return nil, fmt.Errorf("cannot read cacert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(bytes.TrimSpace(pem)) {
			return nil, fmt.Errorf("cacert %s holds no PEM certificate", describe(t.caCert))
		}
		cfg.RootCAs = pool
	}
	if t.clientCert != "" || t.clientKey != "" {
		if t.clientCert == "" || t.clientKey == "" {
			return nil, fmt.Errorf("a client certificate needs both cert and key")
		}
		certPEM, err := pathOrContents(t.clientCert)
		if err != nil {
			return nil, fmt.Errorf("cannot read cert: %w", err)
		}
		keyPEM, err := pathOrContents(t.clientKey)
		if err != nil {
			return nil, fmt.Errorf("cannot read key: %w", err)
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("client certificate %s: %w", describe(t.clientCert), err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// pathOrContents reads a file, or returns PEM given inline.
func pathOrContents(v string) ([]byte, error) {
	if isPEM(v) {
		return []byte(v), nil
	}
	if rest, ok := strings.CutPrefix(v, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			v = filepath.Join(home, rest)
		}
	}
	b, err := os.ReadFile(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", v, unwrapPathError(err))
	}
	return b, nil
}

// isPEM reports whether a setting holds PEM rather than a path.
func isPEM(v string) bool { return strings.HasPrefix(strings.TrimSpace(v), "-----BEGIN") }

// describe names a path or says "(inline PEM)", never printing key material.
func describe(v string) string {
	if strings.HasPrefix(strings.TrimSpace(v), "-----BEGIN") {
		return "(inline PEM)"
	}
	return v
}

func (s *settings) fileName() string {
	if s.file == nil {
		return ""
	}
	return s.file.path
}
