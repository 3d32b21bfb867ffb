package gate_test

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/membergate/membergate/pkg/gate"
)

func TestIdleResyncIsJitteredPerCluster(t *testing.T) {
	g := NewWithT(t)
	a, b := gate.IdleAfter("ns-a/test", 5*time.Minute), gate.IdleAfter("ns-b/test", 5*time.Minute)
	g.Expect(a).NotTo(Equal(b), "two clusters share their idle schedule")
	g.Expect(gate.IdleAfter("ns-a/test", 5*time.Minute)).To(Equal(a), "a cluster's idle resync moves between looks")
	for _, d := range []time.Duration{a, b} {
		g.Expect(d).To(And(BeNumerically(">=", 5*time.Minute), BeNumerically("<=", gate.LongestIdle(5*time.Minute))))
	}
	g.Expect(gate.LongestIdle(5 * time.Minute)).To(Equal(6 * time.Minute))
}
