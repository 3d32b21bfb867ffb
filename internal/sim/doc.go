// Package sim is a deterministic simulation of control-plane rollouts on
// OpenStack, run with and without the gate, to check the gate's promise: no
// rollout removes the last serving load-balancer members, whatever Octavia,
// CAPO or the controller itself does meanwhile.
//
// Time is virtual, in whole seconds, and every random choice comes from the
// seed, so a run replays exactly. The world is a model of KubeadmControlPlane
// (rolling replacement with maxSurge 1 or 0, remediation), CAPI's Machine
// deletion (pre-drain hooks, drain, KCP's pre-terminate etcd removal), CAPO's
// member handling (v0.12/v0.13 and v0.14+ orderings), Octavia (amphorav2
// member flows, HAProxy health checks and heartbeats, pools without a
// monitor, failover, API faults) and the people around them (manual
// releases, members re-created by hand, addresses and names reused).
// The gate side is not a model: each reconcile runs the controller's own
// decision cycle, [cycle.Run] — observe or reuse, [memberwait.Evaluate],
// [gate.Decide], a fresh look before any release, the requeue — and keeps
// the rows [cycle.Outcome.Rows] leaves, as the controller keeps them in the
// MemberGate status, with nothing else surviving a crash.
//
// The invariant is checked against the model's ground truth — whether
// HAProxy would route to a member and the API server behind it answers —
// never against what the gate believes. See docs/reliability.md.
package sim
