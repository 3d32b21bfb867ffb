package sim

import (
	"strings"
	"testing"
)

// Without the drain, nearly every Machine the release rule lets go is sent
// new connections after its API server stopped, until the monitor notices
// or its member is deleted; with it, none that was drained is, and only a
// member Octavia would not drain within the period is (released with a
// Warning).
func TestDrainEndsNewConnectionsToStoppedAPIServers(t *testing.T) {
	pairs := RunSeeds(1, 300, 0)
	rows, total := Summarize(pairs)
	var b strings.Builder
	WriteDrainTable(&b, rows, total)
	t.Log("\n" + b.String())
	if Exposed(total.ExposureNoDrain) < len(total.ExposureNoDrain)/2 {
		t.Errorf("without the drain only %d of %d Machines were exposed: the exposure is not modelled", Exposed(total.ExposureNoDrain), len(total.ExposureNoDrain))
	}
	if total.DrainLeaks != 0 {
		t.Errorf("%d drained Machines got new connections after their API server stopped", total.DrainLeaks)
	}
	if e := Exposed(total.Exposure); e > total.DrainsFailed {
		t.Errorf("%d Machines the rule let go were exposed with the drain, only %d released undrained", e, total.DrainsFailed)
	}
	for _, p := range pairs {
		if p.Gated.Violation {
			t.Errorf("seed %d: the drain broke the invariant: %s", p.Gated.Seed, p.Gated.ViolationWhy)
		}
	}
}
