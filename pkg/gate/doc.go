// Package gate decides, from one observation of a cluster's control-plane
// Machines and their load-balancer members, which Machines carry the
// pre-drain hook, which may let it go, and what to tell the user. It is pure:
// no clients, no clock, no I/O — the controller observes, calls [Decide] and
// applies the [Decision].
package gate
