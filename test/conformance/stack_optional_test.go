//go:build !openstack

package conformance

// stackRequired: a plain `go test ./...` runs the emulator half and skips the
// real-OpenStack half when test/openstack/up.sh has not run.
const stackRequired = false
