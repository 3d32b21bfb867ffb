// Package memberwait waits for Octavia pool members to be provisioned, to
// serve, or to be gone, judging each member by its own statuses.
//
// CAPO and most other Octavia clients wait for the load balancer to be ACTIVE
// after adding or removing a member. With the amphorav2 provider the load
// balancer can be ACTIVE while the member is still PENDING_CREATE, or ERROR
// after Octavia's revert path. memberwait looks at the member itself: its
// provisioning status, its operating status held for a settle window, and its
// absence after deletion; it fails fast on ERROR and rides out 409, 429, 5xx
// and transport errors with a capped, jittered backoff.
//
// There are two shapes of the same logic. [Wait] and [Poller.Wait] block until
// the target is reached, for CAPO forks and scripts. [Check] and [Evaluate]
// make one observation and return a [Verdict] — done, pending (look again
// after a delay) or failed — for controllers, which must never block.
//
// Load balancers are observed through a [Source]: [StatusTree] reads the
// whole status tree in one request; [PoolMembers] and [FromLbClient] list the
// pools' members, the latter through any value with the method set of CAPO's
// clients.LbClient. Waiters that share a [Poller] share its polls: one
// request per load balancer per poll, however many members and waiters.
package memberwait
