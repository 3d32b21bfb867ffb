// Package tlsserving holds the TLS settings of the servers the manager
// runs: the admission webhooks and the Runtime Extension, both reached by
// the kube-apiserver or CAPI's controllers only.
package tlsserving

import "crypto/tls"

// Options return the TLS options of a server: TLS 1.2 at least, and
// HTTP/1.1 only unless http2 is asked for. HTTP/2's stream multiplexing is
// what the "rapid reset" attacks (CVE-2023-44487, CVE-2023-39325) abuse,
// and neither caller needs it: the kube-apiserver and CAPI speak HTTP/1.1
// to webhooks and extensions just as well.
func Options(http2 bool) []func(*tls.Config) {
	return []func(*tls.Config){func(c *tls.Config) {
		c.MinVersion = tls.VersionTLS12
		if !http2 {
			c.NextProtos = []string{"http/1.1"}
		}
	}}
}
