package move

import (
	"flag"
	"os"
	"testing"

	"github.com/membergate/membergate/test/e2e/norace"
)

// TestMain runs the tests again without -race when built with it: the
// source runs CAPI's KubeadmControlPlane, whose data race every rollout
// triggers (see test/e2e/norace).
func TestMain(m *testing.M) {
	flag.Parse()
	if norace.Needed() {
		os.Exit(norace.Rerun())
	}
	os.Exit(m.Run())
}
