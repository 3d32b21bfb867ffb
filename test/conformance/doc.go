// Package conformance holds real OpenStack and its emulator to the same
// observable behaviour: one scenario table runs against octaviatest and, when
// test/openstack/up.sh has started real Octavia 11 and Neutron 21, against
// them too; memberwait runs end to end against real Octavia with faults
// injected through its database and its services; and the gate's failure
// drills run the controller itself against real Octavia and a real
// kube-apiserver (envtest) with the same faults.
//
// The tests live in _test.go files; this file only names the package.
package conformance
