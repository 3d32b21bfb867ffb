// Package controllers holds the gate's controller: it observes a CAPO
// cluster's control-plane Machines and their Octavia members, asks the pure
// [gate.Decide] what to do, and applies it — hooks, Machine conditions, the
// MemberGate status, events and metrics. It never blocks on OpenStack: one
// observation per reconcile, then a requeue.
package controllers
