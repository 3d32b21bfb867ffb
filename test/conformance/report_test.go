package conformance

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// reportVar names a file the suite writes its findings to (run-tests.sh sets
// it): measured timings of real Octavia and every text that differs from
// what the scenario table expects. docs/conformance.md is written from it.
const reportVar = "CONFORMANCE_REPORT"

// findings collects what the suite measured, across tests.
type findings struct {
	mu      sync.Mutex
	timings []string
	diffs   []string
	notes   []string
}

var report findings

func (f *findings) timing(backend, what string, d time.Duration) {
	if backend != "octavia" {
		return // virtual time says nothing about Octavia
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.timings = append(f.timings, fmt.Sprintf("| %s | %s |", what, d.Round(10*time.Millisecond)))
}

// difference records a text that differs while the code matches (409
// wording); the suite does not fail on it.
func (f *findings) difference(t testing.TB, backend, what, want, got string) {
	t.Logf("%s: %s: text differs:\n  want %s\n  got  %s", backend, what, want, got)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.diffs = append(f.diffs, fmt.Sprintf("- %s, %s: expected `%s`, got `%s`", backend, what, want, got))
}

func (f *findings) note(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notes = append(f.notes, "- "+fmt.Sprintf(format, args...))
}

func (f *findings) write(path string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "# Conformance report (%s)\n\n", time.Now().UTC().Format(time.RFC3339))
	b.WriteString("## Real Octavia timings\n\n| what | took |\n|---|---|\n")
	b.WriteString(strings.Join(f.timings, "\n"))
	b.WriteString("\n\n## Text differences (codes matched)\n\n")
	if len(f.diffs) == 0 {
		b.WriteString("none\n")
	}
	sort.Strings(f.diffs)
	b.WriteString(strings.Join(f.diffs, "\n"))
	b.WriteString("\n\n## Notes\n\n")
	b.WriteString(strings.Join(f.notes, "\n"))
	b.WriteString("\n")
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func TestMain(m *testing.M) {
	code := m.Run()
	stopGateEnv()
	if path := os.Getenv(reportVar); path != "" {
		if err := report.write(path); err != nil {
			fmt.Fprintln(os.Stderr, "writing the conformance report:", err)
			code = 1
		}
	}
	os.Exit(code)
}
