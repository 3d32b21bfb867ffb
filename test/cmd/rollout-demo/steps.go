package main

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"k8s.io/utils/clock"
)

// t0Env is where hack/envtest/run.sh leaves the time it began, in
// microseconds since the Unix epoch, so that the demo's steps continue the
// clock of the build steps before them (make demo compiles first).
const t0Env = "MEMBERGATE_T0"

// steps prints what the demo is doing, one line per step, after the time
// since the run began: the column hack/envtest/progress.sh prints, so that
// a newcomer sees one timeline from make demo to the summary.
type steps struct {
	out   io.Writer
	clock clock.PassiveClock
	began time.Time
}

func (s *steps) printf(format string, args ...any) {
	fmt.Fprintf(s.out, "%7s  %s\n", s.clock.Since(s.began).Round(time.Second), fmt.Sprintf(format, args...))
}

// took is how long a step that began at start has run, to the second.
func (s *steps) took(start time.Time) time.Duration {
	return s.clock.Since(start).Round(time.Second)
}

// runBegan reads t0Env's value; empty (the demo started by hand) means now.
// A value it cannot read is an error, and now: the demo goes on with its
// own clock.
func runBegan(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return now, nil
	}
	us, err := strconv.ParseInt(v, 10, 64)
	if err != nil || us < 0 {
		return now, fmt.Errorf("%s=%q: want microseconds since the Unix epoch; timing steps from the demo's start", t0Env, v)
	}
	return time.UnixMicro(us), nil
}
