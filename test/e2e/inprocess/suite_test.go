package inprocess

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/membergate/membergate/test/e2e/inprocess/harness"
	"github.com/membergate/membergate/test/e2e/norace"
)

// h is the management cluster all tests share: one kube-apiserver, one
// manager with CAPI's controllers, the default gate process; each test has
// its own namespace, cluster and cloud (and, to kill it, its own gate
// process), so tests run in parallel.
var h *harness.Harness

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

// scenarios is how many scenarios run at once unless -parallel says
// otherwise. They mostly wait on the controllers' real time; go test's
// default (GOMAXPROCS, 2 here) would run them two by two.
const scenarios = "8"

func run(m *testing.M) int {
	flag.Parse()
	parallelSet := false
	flag.Visit(func(f *flag.Flag) { parallelSet = parallelSet || f.Name == "test.parallel" })
	if !parallelSet {
		_ = flag.Set("test.parallel", scenarios)
	}
	if norace.Needed() {
		return norace.Rerun()
	}
	opts := harness.Options{}
	// E2E_LOG names a file for the controllers' logs, for debugging.
	if path := os.Getenv("E2E_LOG"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer f.Close()
		opts.Log = f
	}
	var err error
	if h, err = harness.Start(opts); err != nil {
		fmt.Fprintf(os.Stderr, "starting the harness: %v\n", err)
		return 1
	}
	code := m.Run()
	if err := h.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "stopping the harness: %v\n", err)
	}
	return code
}
