package openstackauth

import (
	"crypto/sha256"
	"net/http"
	"sync"
)

// Transports shares HTTP transports, and so their connections, among the
// clients built with the same TLS settings. A manager that gates a
// thousand clusters on a few clouds then holds a few pools of connections
// to each cloud's Keystone, Octavia and Neutron, not one per identity: a
// connection costs two goroutines and their buffers on each side, and
// connections make up most of what an identity would cost otherwise.
//
// Sharing a connection shares nothing of an identity: every request
// carries its own token, and a client certificate is part of the TLS
// settings, so identities that present different ones never share. The
// zero value is ready to use.
type Transports struct {
	mu    sync.Mutex
	byTLS map[[sha256.Size]byte]*http.Transport
}

// maxTransports bounds what Transports keeps: past it, one transport is
// forgotten (the clients that have it keep it; the next client with its
// settings gets a new one), so that identities come and go without the
// map growing for ever.
const maxTransports = 256

// maxIdleConnsPerHost is how many idle connections a shared transport
// keeps to one endpoint: the manager's reconcilers run a few workers each,
// and net/http's default of 2 would close and reopen connections (TLS
// handshakes included) whenever more than two reconciles read one cloud at
// once.
const maxIdleConnsPerHost = 16

func (t *Transports) get(m tlsMaterial) (*http.Transport, error) {
	key := m.key()
	t.mu.Lock()
	defer t.mu.Unlock()
	if tr := t.byTLS[key]; tr != nil {
		return tr, nil
	}
	tr, err := newTransport(m)
	if err != nil {
		return nil, err
	}
	tr.MaxIdleConnsPerHost = maxIdleConnsPerHost
	if t.byTLS == nil {
		t.byTLS = map[[sha256.Size]byte]*http.Transport{}
	}
	if len(t.byTLS) >= maxTransports {
		for k := range t.byTLS {
			delete(t.byTLS, k)
			break
		}
	}
	t.byTLS[key] = tr
	return tr, nil
}
