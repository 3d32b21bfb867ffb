package secgroup

import (
	"net/netip"
	"strings"
)

// Owner marks the rules one cluster's enforcement created, in their
// description, so that it repairs and removes only its own. An owner of
// the form "<name>@<management cluster>" also recognises the rules marked
// "<name>" alone, as owners were before they named their management
// cluster: those are its own from before (see Legacy).
type Owner string

// Marks reports whether a rule carries this owner's mark.
func (o Owner) Marks(r Rule) bool {
	return o != "" && strings.HasPrefix(r.Description, string(o)+":")
}

// Legacy reports whether a rule carries this owner's mark of before it
// named its management cluster. Diff replaces such a rule by one with
// today's mark: until then it is the only thing two management clusters
// sharing a project could both take for their own.
func (o Owner) Legacy(r Rule) bool {
	name, _, ok := strings.Cut(string(o), "@")
	return ok && name != "" && strings.HasPrefix(r.Description, name+":")
}

// Owns reports whether a rule is this owner's, under today's mark or the
// legacy one.
func (o Owner) Owns(r Rule) bool { return o.Marks(r) || o.Legacy(r) }

// Mark returns the rule with this owner's mark as its description.
func (o Owner) Mark(r Rule, why string) Rule {
	r.Description = string(o) + ": " + why
	return r
}

// Actions converge the guarded groups' rules on the plan.
type Actions struct {
	// Create lists planned rules that nothing admits yet.
	Create []Rule
	// Delete lists rules this owner created that the plan no longer holds
	// (the policy changed, a pool went away, enforcement was disabled).
	Delete []Rule
}

// Empty reports whether there is nothing to do.
func (a Actions) Empty() bool { return len(a.Create) == 0 && len(a.Delete) == 0 }

// Diff compares the plan with the rules that exist on the guarded
// groups. A planned rule already covered by any rule — ours or the
// operator's — is not created again; a rule of ours that the plan does not
// hold is deleted; rules of others are never touched. A rule under the
// owner's legacy mark is deleted and its rule planned anew under today's
// (Neutron takes the two for duplicates: delete first). Applying the
// actions and diffing again gives no actions.
func Diff(owner Owner, mode EnforcementMode, planned, existing []Rule) Actions {
	var a Actions
	if mode == Disabled {
		planned = nil
	}
	// What remains after the deletes is what may cover the plan.
	var kept []Rule
	for _, r := range existing {
		if owner.Legacy(r) || (owner.Marks(r) && !inPlan(r, planned)) {
			a.Delete = append(a.Delete, r)
		} else {
			kept = append(kept, r)
		}
	}
	for _, want := range Missing(planned, kept) {
		a.Create = append(a.Create, owner.Mark(want, strings.TrimPrefix(want.Description, "membergate: ")))
	}
	return a
}

// inPlan reports whether a rule of ours is one the plan holds (same group,
// source, ether type and port range).
func inPlan(r Rule, planned []Rule) bool {
	for _, p := range planned {
		if p.SecurityGroupID == r.SecurityGroupID && samePrefix(p.RemoteIPPrefix, r.RemoteIPPrefix) && p.EtherType == r.EtherType &&
			p.PortRangeMin == r.PortRangeMin && p.PortRangeMax == r.PortRangeMax && strings.EqualFold(r.Protocol, "tcp") {
			return true
		}
	}
	return false
}

func samePrefix(a, b string) bool {
	pa, ea := netip.ParsePrefix(a)
	pb, eb := netip.ParsePrefix(b)
	return ea == nil && eb == nil && pa.Masked() == pb.Masked()
}
