// Package inprocess is membergate's end-to-end test without a kind cluster:
// real Cluster API controllers roll out a KubeadmControlPlane on in-memory
// infrastructure while a CAPO stand-in manages the API server load
// balancer's members in the Octavia emulator, with and without the gate.
// The machinery is in the harness package, which cmd/rollout-demo shares.
package inprocess
