//go:build !unix

package bench

import "time"

// cpuTime is not measured here: benchmarks report zero CPU per waiter.
func cpuTime() time.Duration { return 0 }
