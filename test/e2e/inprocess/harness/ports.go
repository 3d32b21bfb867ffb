package harness

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
)

// The in-memory backend serves each workload cluster's API server and etcd
// on a port of its own, picked in order from a range without checking that
// the port is free, and a debug server on one more port. Two processes with
// the same range collide, so each harness claims a range nobody listens in.
// The listener of a cluster opens only when its first Machine comes up,
// minutes after the check; a port of the kernel's ephemeral range may by
// then be the local end of any of the tests' many outgoing connections, so
// the range lies below it.
const inMemoryPorts = 64

// portFloor is the lowest port the harness claims.
const portFloor = 20000

// freePortRange returns the first port of n consecutive ports on which
// nothing listens, below the ephemeral range, and one more free port for
// the debug server.
func freePortRange(n int) (first, debug int32, err error) {
	ceiling := ephemeralStart() - n - 1
	if ceiling <= portFloor {
		return 0, 0, fmt.Errorf("no room for %d ports between %d and the ephemeral range", n+1, portFloor)
	}
	for range 50 {
		start := portFloor + rand.IntN(ceiling-portFloor)
		if free(start, n+1) {
			return int32(start), int32(start + n), nil
		}
	}
	return 0, 0, errors.New("no free range of ports for the in-memory workload clusters")
}

// ephemeralStart is the first port the kernel hands out to outgoing
// connections (Linux's default 32768 when it cannot be read).
func ephemeralStart() int {
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	var lo, hi int
	if _, err := fmt.Sscan(string(data), &lo, &hi); err != nil || lo <= 0 {
		return 32768
	}
	return lo
}

func free(start, n int) bool {
	for p := start; p < start+n; p++ {
		// A port taken on any address cannot be bound on loopback either.
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			return false
		}
		_ = l.Close()
	}
	return true
}
