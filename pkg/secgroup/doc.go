// Package secgroup decides, without any I/O, whether Neutron security-group
// rules admit a load balancer's health checks and traffic, and which rules
// would make them: an evaluator of Neutron's rule semantics and a planner of
// the least rules a policy allows.
package secgroup
