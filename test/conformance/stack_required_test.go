//go:build openstack

package conformance

// stackRequired: built with -tags openstack (as run-tests.sh does), a missing
// stack is a failure, not a skip.
const stackRequired = true
