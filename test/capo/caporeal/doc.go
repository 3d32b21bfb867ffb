// Package caporeal runs CAPO's own load-balancer member code — the
// loadbalancer.Service of a released CAPO, unpatched or with membergate's
// fork patch — against real Octavia and against its emulator, and records
// what CAPO returned and what Octavia showed at that moment.
//
// The tests live in _test.go files. test/capo/run.sh builds them into a
// throwaway module per CAPO release and variant; in this repository's test
// module they build against the CAPO release it requires, unpatched.
package caporeal
