package openstackauth

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
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

// httpClient returns the HTTP client for Keystone and Octavia: on a
// transport of its own, or on the one opts.Transports keeps for these TLS
// settings.
func (s *settings) httpClient(opts Options) (*http.Client, error) {
	m, err := s.tls.material()
	if err != nil {
		return nil, s.configError(err, "%s: %v", s.where, err)
	}
	var transport *http.Transport
	if opts.Transports != nil {
		transport, err = opts.Transports.get(m)
	} else {
		transport, err = newTransport(m)
	}
	if err != nil {
		return nil, s.configError(err, "%s: %v", s.where, err)
	}
	var rt http.RoundTripper = cappedBodies{next: transport}
	if opts.WrapTransport != nil {
		rt = opts.WrapTransport(rt)
	}
	return &http.Client{Transport: rt, Timeout: RequestTimeout}, nil
}

// tlsMaterial is what tlsSettings name, read: the PEM itself, not paths.
type tlsMaterial struct {
	caCert, clientCert, clientKey []byte
	insecure                      bool
	// caName and certName say where the CA and certificate came from, for
	// messages: a path, or "(inline PEM)".
	caName, certName string
}

// key identifies the material without holding it: two clients whose
// material has the same key trust the same CAs and present the same
// certificate.
func (m tlsMaterial) key() [sha256.Size]byte {
	h := sha256.New()
	for _, b := range [][]byte{m.caCert, m.clientCert, m.clientKey} {
		// Length-prefixed, so that no two different triples hash alike.
		_ = binary.Write(h, binary.BigEndian, uint64(len(b)))
		h.Write(b)
	}
	if m.insecure {
		h.Write([]byte{1})
	}
	return [sha256.Size]byte(h.Sum(nil))
}

// material reads what t names; whether it makes a TLS configuration is
// found when a transport is built from it.
func (t tlsSettings) material() (tlsMaterial, error) {
	m := tlsMaterial{insecure: t.insecure, caName: describe(t.caCert), certName: describe(t.clientCert)}
	var err error
	if t.caCert != "" {
		if m.caCert, err = pathOrContents(t.caCert); err != nil {
			return m, fmt.Errorf("cannot read cacert: %w", err)
		}
	}
	if t.clientCert != "" || t.clientKey != "" {
		if t.clientCert == "" || t.clientKey == "" {
			return m, fmt.Errorf("a client certificate needs both cert and key")
		}
		if m.clientCert, err = pathOrContents(t.clientCert); err != nil {
			return m, fmt.Errorf("cannot read cert: %w", err)
		}
		if m.clientKey, err = pathOrContents(t.clientKey); err != nil {
			return m, fmt.Errorf("cannot read key: %w", err)
		}
	}
	return m, nil
}

// config is the TLS configuration of m: TLS 1.2 at least, m's CAs (the
// system's when none), m's client certificate.
func (m tlsMaterial) config() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: m.insecure} //nolint:gosec // verify: false is the operator's explicit choice
	if len(m.caCert) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(bytes.TrimSpace(m.caCert)) {
			return nil, fmt.Errorf("cacert %s holds no PEM certificate", m.caName)
		}
		cfg.RootCAs = pool
	}
	if len(m.clientCert) > 0 {
		cert, err := tls.X509KeyPair(m.clientCert, m.clientKey)
		if err != nil {
			return nil, fmt.Errorf("client certificate %s: %w", m.certName, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// newTransport is net/http's default transport with m's TLS configuration.
func newTransport(m tlsMaterial) (*http.Transport, error) {
	cfg, err := m.config()
	if err != nil {
		return nil, err
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = cfg
	return transport, nil
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
