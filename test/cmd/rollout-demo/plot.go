package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/membergate/membergate/internal/testenv"
	"github.com/membergate/membergate/test/e2e/inprocess/harness"
	"github.com/membergate/membergate/test/plots"
)

// timeline keeps what the picture needs of every sample: serving members
// and the Machines the gate holds (deleting, hook still on).
type timeline struct {
	mu      sync.Mutex
	start   time.Time
	samples []plots.RolloutSample
}

func (t *timeline) sample(s harness.Snapshot) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.start.IsZero() {
		t.start = s.At
	}
	held := 0
	for _, m := range s.Machines {
		if m.Deleting && m.Hooked {
			held++
		}
	}
	t.samples = append(t.samples, plots.RolloutSample{At: s.At.Sub(t.start), Serving: s.Serving, Held: held})
}

// defaultPlot is where the picture goes unless -plot says otherwise:
// docs/img in the repository, named for the gate's setting.
func defaultPlot(gated bool) (string, error) {
	root, err := testenv.RepoRoot()
	if err != nil {
		return "", err
	}
	name := "rollout-ungated.svg"
	if gated {
		name = "rollout-gated.svg"
	}
	return filepath.Join(root, "docs", "img", name), nil
}

// writePlot draws the timeline to path.
func (t *timeline) writePlot(path string, cfg config, required int) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	title := fmt.Sprintf("Control-plane rollout, gate %s: %d replicas, maxSurge %d, new members PENDING_CREATE %s then ONLINE %s later",
		onOff(cfg.gate), cfg.replicas, cfg.maxSurge, cfg.pending, cfg.online)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := plots.WriteRollout(f, plots.Rollout{Title: title, Required: required, Samples: t.samples}); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
