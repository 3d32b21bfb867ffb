package remediate

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

var t0 = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

func erroring(id string) Member {
	return Member{Machine: "cp-1", PoolID: "pool", Present: true, ID: id, Address: "10.0.0.5", ProvisioningStatus: "ERROR"}
}

func absent() Member { return Member{Machine: "cp-1", PoolID: "pool"} }

func present(id, status string) Member {
	m := erroring(id)
	m.ProvisioningStatus = status
	return m
}

// step runs Decide with the previous plan's memory, as the controller does.
type run struct {
	t    *testing.T
	now  time.Time
	prev Plan
}

func (r *run) decide(errorMembers int, ms ...Member) Plan {
	r.prev = Decide(Input{Now: r.now, Enabled: true, Members: ms, ErrorMembers: errorMembers, Attempts: r.prev.Attempts, Suspended: r.prev.Suspended})
	return r.prev
}

func reasons(p Plan) []string {
	var out []string
	for _, e := range p.Events {
		out = append(out, e.Reason)
	}
	return out
}

func TestDisabledDoesNothingAndKeepsTheRecord(t *testing.T) {
	g := NewWithT(t)
	prev := []Attempt{{Machine: "cp-1", PoolID: "pool", MemberID: "m1", Phase: Recreating, Started: t0}}
	p := Decide(Input{Now: t0.Add(time.Hour * 5), Members: []Member{erroring("m2")}, ErrorMembers: 1, Attempts: prev})
	g.Expect(p.Delete).To(BeEmpty())
	g.Expect(p.Poke).To(BeEmpty())
	g.Expect(p.Events).To(BeEmpty())
	g.Expect(p.Attempts).To(Equal(prev))
}

// The whole remedy: delete, poke CAPO once the member is gone, and the
// new member recorded; delete and poke pushed again while nothing moves.
func TestRecreateDeletesPokesAndRecordsTheNewMember(t *testing.T) {
	g := NewWithT(t)
	r := &run{t: t, now: t0}
	p := r.decide(1, erroring("m1"))
	g.Expect(p.Delete).To(Equal([]Action{{Machine: "cp-1", PoolID: "pool", MemberID: "m1"}}))
	g.Expect(reasons(p)).To(Equal([]string{EventRecreating}))
	g.Expect(p.Events[0].Message).To(ContainSubstring("attempt 1 of 3"))
	g.Expect(p.RequeueAfter).To(Equal(PokeInterval))

	// Octavia refused the delete (409: the load balancer was busy): it is
	// sent again, but not before PokeInterval.
	r.now = t0.Add(20 * time.Second)
	p = r.decide(1, erroring("m1"))
	g.Expect(p.Delete).To(BeEmpty())
	g.Expect(p.RequeueAfter).To(Equal(40 * time.Second))
	r.now = t0.Add(PokeInterval)
	p = r.decide(1, erroring("m1"))
	g.Expect(p.Delete).To(HaveLen(1))
	g.Expect(p.Events).To(BeEmpty(), "a delete sent again is the same attempt")

	// Deleting: nothing to do.
	r.now = r.now.Add(2 * PokeInterval)
	p = r.decide(0, present("m1", "PENDING_DELETE"))
	g.Expect(p.Delete).To(BeEmpty())
	g.Expect(p.Poke).To(BeEmpty())

	// Gone: CAPO is poked at once, then every PokeInterval.
	r.now = r.now.Add(time.Second)
	p = r.decide(0, absent())
	g.Expect(p.Poke).To(Equal([]string{"cp-1"}))
	g.Expect(p.Attempts[0].Phase).To(Equal(Recreating))
	r.now = r.now.Add(30 * time.Second)
	g.Expect(r.decide(0, absent()).Poke).To(BeEmpty())
	r.now = r.now.Add(30 * time.Second)
	g.Expect(r.decide(0, absent()).Poke).To(Equal([]string{"cp-1"}))

	r.now = r.now.Add(5 * time.Second)
	p = r.decide(0, present("m2", "PENDING_CREATE"))
	g.Expect(reasons(p)).To(Equal([]string{EventRecreated}))
	g.Expect(p.Attempts).To(ConsistOf(HaveField("Phase", Recreated)))
	g.Expect(p.Attempts[0].NewMemberID).To(Equal("m2"))
	g.Expect(p.RequeueAfter).To(BeZero())
}

// Three attempts an hour, backed off, then one Warning and hands off.
func TestAttemptsAreBoundedAndBackedOff(t *testing.T) {
	g := NewWithT(t)
	r := &run{t: t, now: t0}
	ids := []string{"m1", "m2", "m3", "m4"}
	recreate := func(i int) Plan {
		r.decide(0, absent())
		r.now = r.now.Add(time.Second)
		return r.decide(1, erroring(ids[i+1])) // CAPO's new member fails too
	}
	g.Expect(r.decide(1, erroring("m1")).Delete).To(HaveLen(1))
	recreate(0)
	// The second attempt waits for Backoff after the first began.
	p := r.decide(1, erroring("m2"))
	g.Expect(p.Delete).To(BeEmpty())
	g.Expect(p.RequeueAfter).To(BeNumerically(">", 0))
	r.now = t0.Add(Backoff)
	p = r.decide(1, erroring("m2"))
	g.Expect(p.Delete).To(Equal([]Action{{Machine: "cp-1", PoolID: "pool", MemberID: "m2"}}))
	g.Expect(p.Events[0].Message).To(ContainSubstring("attempt 2 of 3"))
	recreate(1)
	// The third waits twice as long after the second.
	r.now = t0.Add(Backoff + 2*Backoff - time.Second)
	g.Expect(r.decide(1, erroring("m3")).Delete).To(BeEmpty())
	r.now = t0.Add(Backoff + 2*Backoff)
	g.Expect(r.decide(1, erroring("m3")).Delete).To(HaveLen(1))
	// No fourth: one Warning, once.
	p = recreate(2)
	g.Expect(p.Delete).To(BeEmpty())
	g.Expect(reasons(p)).To(Equal([]string{EventRecreated, EventExhausted}))
	r.now = r.now.Add(30 * time.Minute)
	p = r.decide(1, erroring("m4"))
	g.Expect(p.Delete).To(BeEmpty())
	g.Expect(p.Events).To(BeEmpty())
	// An hour after the attempts, they are forgotten.
	r.now = t0.Add(Window + Backoff*3 + time.Minute)
	p = r.decide(1, erroring("m4"))
	g.Expect(p.Delete).To(HaveLen(1))
}

// More than one member in ERROR is the cloud's fault: no attempt, said
// once, and resumed when it clears.
func TestBreakerSuspendsWhileSeveralMembersAreInError(t *testing.T) {
	g := NewWithT(t)
	r := &run{t: t, now: t0}
	other := Member{Machine: "cp-2", PoolID: "pool", Present: true, ID: "x1", ProvisioningStatus: "ERROR"}
	p := r.decide(2, erroring("m1"), other)
	g.Expect(p.Delete).To(BeEmpty())
	g.Expect(reasons(p)).To(Equal([]string{EventSuspended}))
	g.Expect(p.Suspended).To(ContainSubstring("2 members"))
	r.now = r.now.Add(time.Minute)
	p = r.decide(2, erroring("m1"), other)
	g.Expect(p.Events).To(BeEmpty())
	other.ProvisioningStatus = "ACTIVE"
	p = r.decide(1, erroring("m1"), other)
	g.Expect(reasons(p)).To(Equal([]string{EventResumed, EventRecreating}))
	g.Expect(p.Delete).To(HaveLen(1))
}

// A Machine being deleted loses its member anyway: never touched, and an
// attempt under way for it is dropped.
func TestDeletingMachinesAreLeftToCAPO(t *testing.T) {
	g := NewWithT(t)
	r := &run{t: t, now: t0}
	g.Expect(r.decide(1, erroring("m1")).Delete).To(HaveLen(1))
	m := absent()
	m.Deleting = true
	r.now = r.now.Add(time.Minute)
	p := r.decide(0, m)
	g.Expect(p.Poke).To(BeEmpty())
	g.Expect(p.Attempts).To(BeEmpty())
	gone := erroring("m9")
	gone.Deleting = true
	g.Expect(r.decide(1, gone).Delete).To(BeEmpty())
}

// A deleting Machine's member in ERROR is no sign of a cloud fault the
// breaker guards against, and counting it would hold for good: the gate
// holds that Machine until the other members serve, so its member stays
// while the other member in ERROR waits for the breaker. Two members in
// ERROR besides it still trip the breaker.
func TestDeletingMachinesMemberDoesNotTripTheBreaker(t *testing.T) {
	g := NewWithT(t)
	r := &run{t: t, now: t0}
	held := Member{Machine: "cp-0", Deleting: true, PoolID: "pool", Present: true, ID: "old", ProvisioningStatus: "ERROR"}
	p := r.decide(2, held, erroring("m1"))
	g.Expect(p.Suspended).To(BeEmpty())
	g.Expect(p.Delete).To(Equal([]Action{{Machine: "cp-1", PoolID: "pool", MemberID: "m1"}}))

	r = &run{t: t, now: t0}
	other := Member{Machine: "cp-2", PoolID: "pool", Present: true, ID: "x1", ProvisioningStatus: "ERROR"}
	p = r.decide(3, held, erroring("m1"), other)
	g.Expect(p.Delete).To(BeEmpty())
	g.Expect(p.Suspended).To(ContainSubstring("2 members"))
}
