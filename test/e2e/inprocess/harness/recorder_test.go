package harness

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

func TestHoldsPairEachOldMachineWithItsReplacement(t *testing.T) {
	g := NewWithT(t)
	t0 := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	rec := Recording{Started: t0, Machines: []Timeline{
		// maxSurge=0: old-a goes before any replacement exists.
		{Name: "old-a", Old: true, DeletionSeen: at(1), HookReleased: at(1.2), GoneAt: at(3)},
		{Name: "new-1", FirstSeen: at(4), Ready: at(15), NotServingYet: at(24.9), MemberServing: at(25)},
		// Held from 16 s until 28.5 s, 3.5 s after new-1's member served.
		{Name: "old-b", Old: true, DeletionSeen: at(16), HookReleased: at(28.5), GoneAt: at(31)},
		// Never deleted: no hold.
		{Name: "old-c", Old: true},
	}}
	holds := rec.Holds()
	g.Expect(holds).To(HaveLen(2))
	g.Expect(holds[0]).To(Equal(Hold{Machine: "old-a", Held: 200 * time.Millisecond}))
	g.Expect(holds[1].Machine).To(Equal("old-b"))
	g.Expect(holds[1].Held).To(Equal(12500 * time.Millisecond))
	g.Expect(holds[1].Replacement).To(Equal("new-1"))
	g.Expect(holds[1].ReplacementServed).To(BeTrue())
	g.Expect(holds[1].AfterServing).To(Equal(3500 * time.Millisecond))
	g.Expect(holds[1].AfterServingMax).To(Equal(3600 * time.Millisecond))
}

func TestRequiredMembers(t *testing.T) {
	g := NewWithT(t)
	g.Expect(Required(3, 1)).To(Equal(3), "with a surge every replica keeps serving")
	g.Expect(Required(3, 0)).To(Equal(2), "maxSurge=0 removes one before adding one")
}
