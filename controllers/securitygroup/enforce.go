package securitygroup

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/membergate/membergate/internal/cloud/services/loadbalancer"
	"github.com/membergate/membergate/internal/cloud/services/networking"
	"github.com/membergate/membergate/pkg/secgroup"
)

// pass reads what is due — the groups (due) and the failing members'
// verdicts (diagnose) — and acts on it.
// When the pass changed a rule, every failing member is diagnosed again:
// its verdict may have changed with it.
func (r *Reconciler) pass(ctx context.Context, out *outcome, in input, pol policy, owner secgroup.Owner, due bool, failing failingSet, diagnose []failingMember) {
	st := out.status
	nc, err := r.Networks.Network(ctx, in.target.Identity)
	if err == nil {
		var topo *loadbalancer.Topology
		if topo, err = r.caches.topology(ctx, nc, in.target.LoadBalancerID, in.topologyKey(), in.now, r.topologyAge(st, len(failing) > 0)); err == nil {
			v := r.caches.view(nc, in.key().String(), in.target.NetworkID, in.now)
			if due {
				var changed bool
				if changed, err = r.enforce(ctx, out, v, topo, in, pol, owner); err == nil {
					now := metav1.NewTime(in.now)
					st.LastSynced = &now
					r.remember(in)
				}
				if changed {
					diagnose = failing
				}
			}
			for _, f := range diagnose {
				r.diagnoseMember(ctx, out, v, topo, in, pol, f)
			}
		}
	}
	if err != nil {
		prev := st.Problems
		st.Problems = append(slices.DeleteFunc(slices.Clone(st.Problems), func(p string) bool { return strings.HasPrefix(p, problemOpenStack) }),
			out.problem(err))
		r.reportProblems(in.mg, prev, st.Problems)
	}
}

// enforce computes the rules the policy wants on the groups guarding the
// nodes' ports, converges on them (Enforce) or reports what it would do
// (Audit), and checks what OVN's clients need.
// It reports whether it changed a rule.
func (r *Reconciler) enforce(ctx context.Context, out *outcome, v *networking.Service, topo *loadbalancer.Topology, in input, pol policy, owner secgroup.Owner) (bool, error) {
	st := out.status
	changed := false
	var problems []string
	sources := pol.sources
	if len(sources) == 0 {
		var err error
		if sources, err = derivedSources(ctx, v, topo); err != nil {
			return false, err
		}
	}
	st.Sources = nil
	for _, s := range sources {
		st.Sources = append(st.Sources, s.Prefix.String())
	}

	guards, missing, err := r.guardedPorts(ctx, v, topo, in, pol)
	if err != nil {
		return false, err
	}
	problems = append(problems, missing...)
	groups := ownedGroups(st)
	for _, g := range guards {
		if g.port.Filtered() {
			groups = append(groups, g.port.SecurityGroups...)
		}
	}
	slices.Sort(groups)
	groups = slices.Compact(groups)
	if err := v.ListRules(ctx, groups); err != nil {
		return false, err
	}

	planned, refused := plan(pol, owner, sources, guards, v)
	for _, msg := range refused {
		problems = append(problems, problemRefused+msg)
	}
	acts := secgroup.Diff(owner, pol.Mode, planned, v.Rules(groups...))
	if len(acts.Create) > 0 {
		// A port of this project may name a group of another (an admin
		// can attach one): that group is not this cluster's to change.
		var targets []string
		for _, c := range acts.Create {
			targets = append(targets, c.SecurityGroupID)
		}
		foreign, err := v.ForeignGroups(ctx, targets)
		if err != nil {
			return false, err
		}
		acts.Create = slices.DeleteFunc(acts.Create, func(c secgroup.Rule) bool {
			project, ok := foreign[c.SecurityGroupID]
			if ok {
				problems = append(problems, fmt.Sprintf("%sgroup %s (guarding %s) belongs to project %s, not the cluster's: membergate never changes another project's group; add the rule there, or give the ports a group of the cluster's project",
					problemPorts, c.SecurityGroupID, strings.Join(guardedBy(guards, c.SecurityGroupID), ", "), project))
			}
			return ok
		})
		slices.Sort(problems)
		problems = slices.Compact(problems)
	}
	prevChanges := st.Changes
	st.Changes = nil
	if pol.Mode == secgroup.Enforce {
		if len(acts.Create) > 0 {
			// Before the first rule exists: a MemberGate deleted from here
			// on waits until its rules are gone.
			if err := r.addFinalizer(ctx, in.mg); err != nil {
				return false, err
			}
		}
		// A rule under the legacy mark goes first: Neutron takes a rule
		// that differs only in its description for the same rule (409),
		// so its replacement can be created only once it is gone — a
		// moment without it, which no health monitor notices.
		acts.Delete = slices.DeleteFunc(acts.Delete, func(d secgroup.Rule) bool {
			if !owner.Legacy(d) {
				return false
			}
			if err := v.DeleteRule(ctx, d); err != nil {
				problems = append(problems, out.problem(err))
			}
			return true
		})
		for _, c := range acts.Create {
			if _, err := v.CreateRule(ctx, c); err != nil {
				problems = append(problems, out.problem(err))
				continue
			}
			changed = true
			msg := fmt.Sprintf("added %s to group %s (guarding %s): the load balancer reaches the members from %s", c, c.SecurityGroupID,
				strings.Join(guardedBy(guards, c.SecurityGroupID), ", "), c.RemoteIPPrefix)
			st.Changes = append(st.Changes, msg)
			r.Recorder.Eventf(in.mg, in.cluster, corev1.EventTypeNormal, "SecurityGroupRuleAdded", "SecurityGroups", "%s", msg)
		}
		for _, d := range acts.Delete {
			if err := v.DeleteRule(ctx, d); err != nil {
				problems = append(problems, out.problem(err))
				continue
			}
			changed = true
			msg := fmt.Sprintf("removed %s from group %s: the policy no longer holds it", d, d.SecurityGroupID)
			st.Changes = append(st.Changes, msg)
			r.Recorder.Eventf(in.mg, in.cluster, corev1.EventTypeNormal, "SecurityGroupRuleRemoved", "SecurityGroups", "%s", msg)
		}
	} else {
		for _, c := range acts.Create {
			st.Changes = append(st.Changes, fmt.Sprintf("would add %s to group %s (guarding %s)", c, c.SecurityGroupID,
				strings.Join(guardedBy(guards, c.SecurityGroupID), ", ")))
		}
		for _, d := range acts.Delete {
			st.Changes = append(st.Changes, fmt.Sprintf("would remove %s from group %s", d, d.SecurityGroupID))
		}
		if len(st.Changes) > 0 && !slices.Equal(st.Changes, prevChanges) {
			r.Recorder.Eventf(in.mg, in.cluster, corev1.EventTypeNormal, "SecurityGroupsAudit", "SecurityGroups",
				"Audit, nothing changed: %s; set spec.securityGroups.mode: Enforce to apply", strings.Join(st.Changes, "; "))
		}
	}
	if topo.IsOVN() {
		problems = append(problems, ovnClients(topo, guards, v)...)
	}
	st.Groups = groupsOf(guards, pol)
	st.OwnedRules = ownedRules(v, groups, owner)
	r.reportProblems(in.mg, st.Problems, problems)
	st.Problems = problems
	return changed, nil
}
