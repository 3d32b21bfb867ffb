package harness

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
)

// The in-memory backend serves each workload cluster's API server and etcd
// on a port of its own, picked in order from a range without checking that
// the port is free, and a debug server on one more port. Two processes with
// the same range collide, so each harness claims a range nobody listens in.
const inMemoryPorts = 64

// freePortRange returns the first port of n consecutive ports on which
// nothing listens, and one more free port for the debug server.
func freePortRange(n int) (first, debug int32, err error) {
	for range 50 {
		start := 20000 + rand.IntN(25000)
		if free(start, n+1) {
			return int32(start), int32(start + n), nil
		}
	}
	return 0, 0, errors.New("no free range of ports for the in-memory workload clusters")
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
