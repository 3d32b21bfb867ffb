// Package securitygroup holds the security-group reconciler: for each gated
// cluster it plans the least rules that admit the API server load balancer
// to the nodes' ports, converges on them (Enforce) or reports them (Audit),
// removes its own rules when the policy, the cluster or the MemberGate goes,
// and diagnoses the members that fail their health checks. It reads the
// members from the MemberGate status the gate (package controllers) writes,
// and writes only status.securityGroups and the SecurityGroupsReady
// condition; the gate shows its diagnoses on the Machines' conditions.
package securitygroup
