package secgroup

import (
	. "github.com/onsi/gomega"

	"math/rand/v2"
	"net/netip"
	"testing"
)

const owner = Owner("membergate default/prod")

func TestDiffConverges(t *testing.T) {
	planned, _ := Plan(Policy{Mode: Enforce}, configured(subnet), []Guarded{{GroupID: "cp", Ports: []int{6443}}})
	foreign := Rule{ID: "f", SecurityGroupID: "cp", Direction: "ingress", EtherType: "IPv4", Protocol: "tcp", PortRangeMin: 22, PortRangeMax: 22, RemoteIPPrefix: "0.0.0.0/0", Description: "ssh"}
	stale := owner.Mark(Rule{ID: "s", SecurityGroupID: "cp", Direction: "ingress", EtherType: "IPv4", Protocol: "tcp", PortRangeMin: 9000, PortRangeMax: 9000, RemoteIPPrefix: "10.6.0.0/24"}, "old pool")

	a := Diff(owner, Enforce, planned, []Rule{foreign, stale})
	if len(a.Create) != 1 || a.Create[0].PortRangeMin != 6443 || !owner.Marks(a.Create[0]) {
		t.Fatalf("create %+v, want the 6443 rule, marked", a.Create)
	}
	if len(a.Delete) != 1 || a.Delete[0].ID != "s" {
		t.Fatalf("delete %+v, want only our stale rule", a.Delete)
	}
	// Applied: nothing more to do.
	if again := Diff(owner, Enforce, planned, []Rule{foreign, a.Create[0]}); !again.Empty() {
		t.Fatalf("not idempotent: %+v", again)
	}
	// Drift: someone deleted our rule; it comes back.
	if drift := Diff(owner, Enforce, planned, []Rule{foreign}); len(drift.Create) != 1 {
		t.Fatalf("a deleted rule is not repaired: %+v", drift)
	}
	// An operator's wider rule already admits it: nothing to create.
	wide := Rule{ID: "w", SecurityGroupID: "cp", Direction: "ingress", EtherType: "IPv4", Protocol: "tcp", RemoteIPPrefix: "10.0.0.0/8"}
	if a := Diff(owner, Enforce, planned, []Rule{wide}); !a.Empty() {
		t.Fatalf("created a rule an operator's rule covers: %+v", a)
	}
	// Disabled: ours go, others stay.
	off := Diff(owner, Disabled, planned, []Rule{foreign, a.Create[0], wide})
	if len(off.Create) != 0 || len(off.Delete) != 1 || off.Delete[0].PortRangeMin != 6443 {
		t.Fatalf("disabled: %+v", off)
	}
}

// TestDiffNeverTouchesOthers is a property test: whatever the plan
// and the existing rules, deletes are only ever our own rules, creates are
// only planned rules, and one round of actions reaches a fixed point.
func TestDiffNeverTouchesOthers(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for run := 0; run < 1000; run++ {
		var sources []netip.Prefix
		for i := rng.IntN(2); i >= 0; i-- {
			sources = append(sources, randomPrefix(rng))
		}
		targets := []Guarded{{GroupID: "cp", Ports: []int{6443, 1 + rng.IntN(65535)}}, {GroupID: "w", NodePorts: rng.IntN(2) == 0}}
		planned, _ := Plan(Policy{Mode: Enforce, AllowAnywhere: rng.IntN(2) == 0}, configured(sources...), targets)
		var existing []Rule
		for i := rng.IntN(6); i > 0; i-- {
			r := Rule{ID: string(rune('a' + i)), SecurityGroupID: []string{"cp", "w"}[rng.IntN(2)], Direction: "ingress", EtherType: "IPv4",
				Protocol: "tcp", PortRangeMin: 1 + rng.IntN(40000), RemoteIPPrefix: "10.0.0.0/8"}
			r.PortRangeMax = r.PortRangeMin + rng.IntN(100)
			if rng.IntN(2) == 0 {
				r = owner.Mark(r, "x")
			}
			existing = append(existing, r)
		}
		mode := []EnforcementMode{Enforce, Audit, Disabled}[rng.IntN(3)]
		a := Diff(owner, mode, planned, existing)
		for _, d := range a.Delete {
			if !owner.Marks(d) {
				t.Fatalf("run %d: deletes a rule not ours: %+v", run, d)
			}
		}
		for _, c := range a.Create {
			if !owner.Marks(c) || !inPlan(c, planned) {
				t.Fatalf("run %d: creates an unplanned or unmarked rule: %+v", run, c)
			}
		}
		// Apply and diff again.
		var after []Rule
		for _, r := range existing {
			deleted := false
			for _, d := range a.Delete {
				deleted = deleted || d.ID == r.ID
			}
			if !deleted {
				after = append(after, r)
			}
		}
		after = append(after, a.Create...)
		if again := Diff(owner, mode, planned, after); !again.Empty() {
			t.Fatalf("run %d: no fixed point after one round: %+v", run, again)
		}
	}
}

// An owner naming its management cluster replaces the rules under its mark
// of before, and
// never touches another management cluster's rules for a cluster of the
// same name.
func TestDiffReplacesLegacyMarksAndLeavesOtherManagementClusters(t *testing.T) {
	g := NewWithT(t)
	owner := Owner("membergate ns/c@mgmt-a")
	planned, _ := Plan(Policy{Mode: Enforce}, configured(subnet), []Guarded{{GroupID: "cp", Ports: []int{6443}}})
	legacy := Owner("membergate ns/c").Mark(planned[0], "load balancer to members")
	legacy.ID = "legacy"
	theirs := Owner("membergate ns/c@mgmt-b").Mark(planned[0], "load balancer to members")
	theirs.ID = "theirs"

	a := Diff(owner, Enforce, planned, []Rule{legacy})
	g.Expect(a.Delete).To(ConsistOf(HaveField("ID", "legacy")))
	g.Expect(a.Create).To(HaveLen(1))
	g.Expect(owner.Marks(a.Create[0])).To(BeTrue())
	g.Expect(owner.Owns(legacy) && !owner.Marks(legacy)).To(BeTrue())

	a = Diff(owner, Disabled, planned, []Rule{theirs})
	g.Expect(a.Empty()).To(BeTrue(), "another management cluster's rule")
	g.Expect(owner.Owns(theirs)).To(BeFalse())
	a = Diff(owner, Enforce, planned, []Rule{theirs})
	g.Expect(a.Empty()).To(BeTrue(), "covered by theirs, as by an operator's rule")
	g.Expect(Owner("membergate ns/c").Legacy(legacy)).To(BeFalse(), "an owner without a management cluster has no legacy mark")
}
