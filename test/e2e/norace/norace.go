// Package norace runs an e2e package's tests again without the race
// detector. CAPI v1.14.2's KubeadmControlPlane shares one SPDY round
// tripper between concurrent etcd port-forward dials
// (controlplane/kubeadm/pkg/proxy, kubernetes-sigs/cluster-api#12778, not
// fixed in any v1.14 release), and every rollout triggers it, so a test
// binary built with -race fails on CAPI's bug, not ours. make test runs
// everything with -race; rather than fail or skip, such a binary runs its
// package's tests again in a child go test without -race and reports its
// outcome. The gate and memberwait are race-tested in their own packages.
package norace

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// childEnv marks the child go test.
const childEnv = "MEMBERGATE_E2E_CHILD"

// Needed reports whether the tests must run again without -race: the
// binary was built with it and is not already the child Rerun starts.
func Needed() bool { return raceDetector && os.Getenv(childEnv) == "" }

// Rerun runs the package's tests (in the working directory) in a child go
// test without -race, passing on -run, -v and -parallel, and returns its
// exit code.
func Rerun() int {
	args := []string{"test", "-count=1", "-timeout=15m"}
	for _, name := range []string{"run", "v", "parallel"} {
		if f := flag.Lookup("test." + name); f != nil && f.Value.String() != f.DefValue {
			args = append(args, fmt.Sprintf("-%s=%s", name, f.Value.String()))
		}
	}
	args = append(args, ".")
	cmd := exec.Command("go", args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.Env = append(withoutRaceFlag(os.Environ()), childEnv+"=1")
	fmt.Printf("built with -race: running the e2e tests in go %s (see test/e2e/norace)\n", strings.Join(args, " "))
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// withoutRaceFlag drops -race from GOFLAGS, so the child is not built
// with it again.
func withoutRaceFlag(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GOFLAGS="); ok {
			var keep []string
			for _, f := range strings.Fields(v) {
				if f != "-race" && f != "--race" && f != "-race=true" {
					keep = append(keep, f)
				}
			}
			kv = "GOFLAGS=" + strings.Join(keep, " ")
		}
		out = append(out, kv)
	}
	return out
}
