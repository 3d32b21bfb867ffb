package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestStepsPrintsTimeSinceTheRunBegan(t *testing.T) {
	g := NewWithT(t)
	began := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	clk := clocktesting.NewFakeClock(began.Add(7*time.Minute + 29600*time.Millisecond))
	var out bytes.Buffer
	s := &steps{out: &out, clock: clk, began: began}

	s.printf("starting %s…", "envtest")
	clk.Step(11 * time.Second)
	s.printf("started in %s", s.took(began.Add(7*time.Minute+29600*time.Millisecond)))

	// The scripts' column: the time right-aligned in 7, as Go prints a
	// duration rounded to the second, two spaces, the step.
	g.Expect(strings.Split(out.String(), "\n")).To(Equal([]string{
		"  7m30s  starting envtest…",
		"  7m41s  started in 11s",
		"",
	}))
}

func TestRunBeganReadsTheScriptsClock(t *testing.T) {
	g := NewWithT(t)
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

	began, err := runBegan("1796378400123456", now)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(began).To(BeTemporally("==", time.UnixMicro(1796378400123456)))

	// Started by hand: the demo's own start.
	began, err = runBegan("", now)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(began).To(Equal(now))

	// Bad input names the variable and what it wants; the demo goes on
	// from its own start.
	for _, bad := range []string{"1796378400.123456", "soon", "-5"} {
		began, err = runBegan(bad, now)
		g.Expect(err).To(MatchError(ContainSubstring("MEMBERGATE_T0")), bad)
		g.Expect(err).To(MatchError(ContainSubstring("microseconds since the Unix epoch")), bad)
		g.Expect(began).To(Equal(now), bad)
	}
}
