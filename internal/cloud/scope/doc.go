// Package scope is what the reconcilers reach OpenStack with: which load
// balancer a Cluster is gated on and with which identity (CAPO's
// identityRef resolved to its Secret), and the Octavia and Neutron clients
// built from that Secret. The clients are kept while the Secret is
// unchanged; every request they make takes a token of its cloud's request
// budget, never waiting for one, and is counted in the request metrics.
package scope
