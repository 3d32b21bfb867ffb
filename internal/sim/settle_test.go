package sim

import (
	"strings"
	"testing"
)

// Under a slow monitor (delay 30 s, timeout 10 s, max_retries_down 3) a
// member whose security group drops the checks reads ONLINE for up to
// 100 s before its ERROR is reported: a fixed 45 s window releases the old
// Machine in some of these rollouts; Auto, the default, in none.
func TestSettleFixedReleasesEarlyUnderSlowMonitorsAutoNever(t *testing.T) {
	fixedEarly, autoEarly, runs := 0, 0, 0
	for seed := uint64(1); runs < 40; seed++ {
		sc := Generate(seed)
		if sc.Kind != SGMissing {
			continue
		}
		runs++
		sc.Monitor = Monitor{Delay: 30, Timeout: 10, Down: 3}
		// Without the drain, whose period would let the slow monitor
		// report before the release.
		auto := Run(sc, Options{Gate: true, NoDrain: true})
		fixed := Run(sc, Options{Gate: true, SettleWindow: FixedSettleWindow, NoDrain: true})
		fixedEarly += b2i(fixed.EarlyReleases > 0)
		autoEarly += b2i(auto.EarlyReleases > 0 || auto.Violation)
	}
	t.Logf("%d sg-missing rollouts under a 30/10/3 monitor: fixed 45 s released early in %d, Auto in %d", runs, fixedEarly, autoEarly)
	if fixedEarly == 0 {
		t.Error("a fixed 45 s window never released early under a slow monitor: the monitor is not modelled")
	}
	if autoEarly != 0 {
		t.Errorf("Auto released early in %d rollouts", autoEarly)
	}
}

// The campaign's settle table counts what it says: the fixed window's
// early releases appear, Auto's column stays 0.
func TestSettleTable(t *testing.T) {
	pairs := RunSeeds(1, 300, 0)
	_, total := Summarize(pairs)
	var b strings.Builder
	WriteSettleTable(&b, pairs)
	t.Log("\n" + b.String())
	if total.FixedEarlyRuns == 0 {
		t.Error("no fixed-window early release in 300 seeds, with slow monitors among them")
	}
	if total.AutoEarlyRuns != 0 {
		t.Errorf("Auto released early in %d runs", total.AutoEarlyRuns)
	}
	if !strings.Contains(b.String(), "| > 80 s") {
		t.Error("the table has no row for the slow monitors")
	}
}
