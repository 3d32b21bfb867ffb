package controllers

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/pkg/secgroup"
)

// Problem categories, as prefixes of status.securityGroups.problems: the
// condition's reason is chosen from them.
const (
	problemOpenStack = "OpenStack: "
	problemRefused   = "refused: "
	problemPorts     = "ports: "
	problemClients   = "clients: "
)

// sgPass reads what is due — the groups (due) and the failing members'
// verdicts (diagnose) — and acts on it.
// When the pass changed a rule, every failing member is diagnosed again:
// its verdict may have changed with it.
func (r *GateReconciler) sgPass(ctx context.Context, out *sgOutcome, in sgInput, pol sgPolicy, owner secgroup.Owner, due bool, failing failingSet, diagnose []failingMember) {
	st := out.status
	nc, err := r.Networks.Network(ctx, in.target.Identity)
	if err == nil {
		var topo *topology
		if topo, err = r.secgroups.topo.get(ctx, nc, in.target.LoadBalancerID, membersKey(in.snap), in.now); err == nil {
			v := r.secgroups.view(nc, in.key().String(), in.now)
			if due {
				var changed bool
				if changed, err = r.sgEnforce(ctx, out, v, topo, in, pol, owner); err == nil {
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
			problemOpenStack+err.Error())
		r.reportProblems(in.mg, prev, st.Problems)
	}
}

// guarded is a Neutron port the policy guards and what it must admit.
type guarded struct {
	port      *nPort
	machines  []string
	ports     []int // control plane: the members' protocol and monitor ports
	nodePorts bool  // workers
}

// sgEnforce computes the rules the policy wants on the groups guarding the
// nodes' ports, converges on them (Enforce) or reports what it would do
// (Audit), and checks what OVN's clients need.
// It reports whether it changed a rule.
func (r *GateReconciler) sgEnforce(ctx context.Context, out *sgOutcome, v *neutronView, topo *topology, in sgInput, pol sgPolicy, owner secgroup.Owner) (bool, error) {
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
		st.Sources = append(st.Sources, s.String())
	}

	guards, missing, err := r.guardedPorts(ctx, v, topo, in, pol)
	if err != nil {
		return false, err
	}
	problems = append(problems, missing...)
	groups := ownedGroups(st)
	for _, g := range guards {
		if g.port.filtered() {
			groups = append(groups, g.port.SecurityGroups...)
		}
	}
	slices.Sort(groups)
	groups = slices.Compact(groups)
	if err := v.rulesOf(ctx, groups); err != nil {
		return false, err
	}

	planned, refused := plan(pol, owner, sources, guards, v)
	for _, msg := range refused {
		problems = append(problems, problemRefused+msg)
	}
	acts := secgroup.Reconcile(owner, pol.Mode, planned, v.rulesIn(groups))
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
		for _, c := range acts.Create {
			if _, err := v.create(ctx, c); err != nil {
				problems = append(problems, problemOpenStack+err.Error())
				continue
			}
			changed = true
			msg := fmt.Sprintf("added %s to group %s (guarding %s): the load balancer reaches the members from %s", c, c.SecurityGroupID,
				strings.Join(guardedBy(guards, c.SecurityGroupID), ", "), c.RemoteIPPrefix)
			st.Changes = append(st.Changes, msg)
			r.Recorder.Eventf(in.mg, in.cluster, corev1.EventTypeNormal, "SecurityGroupRuleAdded", "SecurityGroups", "%s", msg)
		}
		for _, d := range acts.Delete {
			if err := v.remove(ctx, d); err != nil {
				problems = append(problems, problemOpenStack+err.Error())
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

// derivedSources are the CIDRs of the subnets the load balancer reaches
// its members from: each member's subnet, or the VIP's for members with
// none.
func derivedSources(ctx context.Context, v *neutronView, topo *topology) ([]netip.Prefix, error) {
	var subnets []string
	for _, m := range topo.Members {
		subnets = append(subnets, m.SourceSubnet(topo.VIPSubnetID))
	}
	if len(topo.Members) == 0 {
		subnets = append(subnets, topo.VIPSubnetID)
	}
	slices.Sort(subnets)
	var out []netip.Prefix
	for _, id := range slices.Compact(subnets) {
		cidr, err := v.subnetCIDR(ctx, id)
		if err != nil {
			return nil, err
		}
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			return nil, fmt.Errorf("subnet %s has CIDR %q: %w", id, cidr, err)
		}
		if !slices.Contains(out, p.Masked()) {
			out = append(out, p.Masked())
		}
	}
	return out, nil
}

// memberPorts are the control-plane ports to open: every member's protocol
// port and monitor port, as the pools say — not an assumed 6443.
func memberPorts(topo *topology) []int {
	var ports []int
	for _, m := range topo.Members {
		ports = append(ports, m.ProtocolPort)
		if m.MonitorPort != 0 {
			ports = append(ports, m.MonitorPort)
		}
	}
	slices.Sort(ports)
	return slices.Compact(ports)
}

// guardedPorts finds the ports holding the control-plane Machines'
// addresses (and, with workers, the worker Machines'); it also returns the
// Machines none of whose addresses a port holds.
func (r *GateReconciler) guardedPorts(ctx context.Context, v *neutronView, topo *topology, in sgInput, pol sgPolicy) ([]*guarded, []string, error) {
	type node struct {
		name   string
		addrs  []string
		worker bool
	}
	hint := map[string]string{}
	var nodes []node
	for _, m := range in.machines {
		n := node{name: m.Name, addrs: internalAddresses(&m)}
		for _, verdict := range in.verdicts[m.Name] {
			if ms := verdict.Member; ms != nil && ms.Address != "" {
				n.addrs = append(n.addrs, ms.Address)
				if tm, ok := topo.member(ms.ID); ok && tm.SubnetID != "" {
					hint[ms.Address] = tm.SubnetID
				}
			}
		}
		nodes = append(nodes, n)
	}
	if pol.workers {
		workers, err := r.workerMachines(ctx, in.cluster)
		if err != nil {
			return nil, nil, err
		}
		for _, m := range workers {
			nodes = append(nodes, node{name: m.Name, addrs: internalAddresses(&m), worker: true})
		}
	}
	var all []string
	for i := range nodes {
		slices.Sort(nodes[i].addrs)
		nodes[i].addrs = slices.Compact(nodes[i].addrs)
		all = append(all, nodes[i].addrs...)
	}
	if err := v.portsOf(ctx, all, hint); err != nil {
		return nil, nil, err
	}
	cpPorts := memberPorts(topo)
	byPort := map[string]*guarded{}
	var out []*guarded
	var missing []string
	for _, n := range nodes {
		found := false
		for _, a := range n.addrs {
			p := v.ports[a]
			if p == nil {
				continue
			}
			found = true
			g := byPort[p.ID]
			if g == nil {
				g = &guarded{port: p}
				byPort[p.ID] = g
				out = append(out, g)
			}
			if !slices.Contains(g.machines, n.name) {
				g.machines = append(g.machines, n.name)
			}
			if n.worker {
				g.nodePorts = true
			} else {
				g.ports = cpPorts
			}
			if len(p.SecurityGroups) == 0 && p.filtered() {
				missing = append(missing, fmt.Sprintf("%sport %s of %s has no security group: with port security on, nothing admits the load balancer; add one", problemPorts, p.ID, n.name))
			}
		}
		if !found && len(n.addrs) > 0 {
			missing = append(missing, fmt.Sprintf("%sno Neutron port holds an address of %s (%s)", problemPorts, n.name, strings.Join(n.addrs, ", ")))
		}
	}
	slices.Sort(missing)
	return out, slices.Compact(missing), nil
}

func internalAddresses(m *clusterv1.Machine) []string {
	var out []string
	for _, a := range m.Status.Addresses {
		if a.Type == clusterv1.MachineInternalIP && a.Address != "" {
			out = append(out, a.Address)
		}
	}
	return out
}

// workerMachines lists the cluster's Machines that are not control plane.
func (r *GateReconciler) workerMachines(ctx context.Context, c *clusterv1.Cluster) ([]clusterv1.Machine, error) {
	var list clusterv1.MachineList
	if err := r.Client.List(ctx, &list, client.InNamespace(c.Namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: c.Name}); err != nil {
		return nil, err
	}
	out := slices.DeleteFunc(list.Items, func(m clusterv1.Machine) bool {
		_, cp := m.Labels[clusterv1.MachineControlPlaneLabel]
		return cp || !m.DeletionTimestamp.IsZero()
	})
	slices.SortFunc(out, func(a, b clusterv1.Machine) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// plan is secgroup.Plan per source and guarded port, with the rule put on
// the port's first group, and left out where some group of the port
// already admits it by a rule that is not ours (one of ours is what
// Reconcile keeps). Traffic is admitted when any of a port's groups admits
// it, so one rule per port is enough.
func plan(pol sgPolicy, owner secgroup.Owner, sources []netip.Prefix, guards []*guarded, v *neutronView) ([]secgroup.Rule, []string) {
	var planned []secgroup.Rule
	var refused []string
	seen := map[string]bool{}
	for _, src := range sources {
		for _, g := range guards {
			groups := g.port.SecurityGroups
			if len(groups) == 0 || !g.port.filtered() {
				continue
			}
			cands, errs := secgroup.Plan(pol.Policy, []netip.Prefix{src}, []secgroup.Target{{GroupID: groups[0], Ports: g.ports, NodePorts: g.nodePorts}})
			for _, err := range errs {
				if !slices.Contains(refused, err.Error()) {
					refused = append(refused, err.Error())
				}
			}
			for _, c := range cands {
				k := fmt.Sprint(c.SecurityGroupID, c.EtherType, c.RemoteIPPrefix, c.PortRangeMin, c.PortRangeMax)
				if seen[k] || coveredByOthers(c, groups, v, owner) {
					continue
				}
				seen[k] = true
				planned = append(planned, c)
			}
		}
	}
	return planned, refused
}

func coveredByOthers(c secgroup.Rule, groups []string, v *neutronView, owner secgroup.Owner) bool {
	for _, gid := range groups {
		want := c
		want.SecurityGroupID = gid
		others := slices.DeleteFunc(slices.Clone(v.rules[gid]), owner.Marks)
		if len(secgroup.Missing([]secgroup.Rule{want}, others)) == 0 {
			return true
		}
	}
	return false
}

// ovnClients reports the listeners' allowed_cidrs that the control-plane
// ports' groups do not admit: OVN keeps the client's address, so these
// clients are dropped at the node. Never widened for: admitting clients is
// the operator's decision, not the load balancer's.
func ovnClients(topo *topology, guards []*guarded, v *neutronView) []string {
	var out []string
	for _, l := range topo.Listeners {
		for _, c := range l.AllowedCIDRs {
			src, err := netip.ParsePrefix(c)
			if err != nil {
				continue
			}
			for _, g := range guards {
				if (g.nodePorts && len(g.ports) == 0) || !g.port.filtered() {
					continue
				}
				rules := v.rulesIn(g.port.SecurityGroups)
				for _, m := range topo.Members {
					if !secgroup.Evaluate(rules, src.Masked(), m.ProtocolPort).Admitted {
						out = append(out, fmt.Sprintf("%sOVN keeps client addresses: listener %s (port %d) allows %s, which the groups of %s's port (%s) do not admit to port %d; add a rule if those clients must reach it (membergate never widens for clients)",
							problemClients, nameOr(l.Name, l.ID), l.Port, c, strings.Join(g.machines, ", "), strings.Join(g.port.SecurityGroups, ", "), m.ProtocolPort))
					}
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func nameOr(name, id string) string {
	if name != "" {
		return name
	}
	return id
}

// guardedBy names the Machines whose ports the group guards as target.
func guardedBy(guards []*guarded, group string) []string {
	var out []string
	for _, g := range guards {
		if len(g.port.SecurityGroups) > 0 && g.port.SecurityGroups[0] == group {
			out = append(out, g.machines...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// groupsOf summarises the target groups for the status.
func groupsOf(guards []*guarded, pol sgPolicy) []v1alpha1.GuardedGroup {
	byID := map[string]*v1alpha1.GuardedGroup{}
	var ids []string
	for _, g := range guards {
		if len(g.port.SecurityGroups) == 0 || !g.port.filtered() {
			continue
		}
		id := g.port.SecurityGroups[0]
		gg := byID[id]
		if gg == nil {
			gg = &v1alpha1.GuardedGroup{ID: id}
			byID[id] = gg
			ids = append(ids, id)
		}
		gg.Machines = append(gg.Machines, g.machines...)
		switch {
		case pol.AllTCP:
			gg.Ports = append(gg.Ports, "1-65535")
		default:
			for _, p := range g.ports {
				gg.Ports = append(gg.Ports, strconv.Itoa(p))
			}
			if g.nodePorts {
				gg.Ports = append(gg.Ports, fmt.Sprintf("%d-%d", pol.NodePorts.Min, pol.NodePorts.Max))
			}
		}
	}
	slices.Sort(ids)
	var out []v1alpha1.GuardedGroup
	for _, id := range ids {
		gg := byID[id]
		slices.Sort(gg.Machines)
		gg.Machines = slices.Compact(gg.Machines)
		slices.Sort(gg.Ports)
		gg.Ports = slices.Compact(gg.Ports)
		out = append(out, *gg)
	}
	return out
}

// ownedRules are the rules of ours in the groups read.
func ownedRules(v *neutronView, groups []string, owner secgroup.Owner) []v1alpha1.OwnedRule {
	var out []v1alpha1.OwnedRule
	for _, r := range v.rulesIn(groups) {
		if owner.Marks(r) {
			out = append(out, v1alpha1.OwnedRule{ID: r.ID, GroupID: r.SecurityGroupID, Rule: r.String()})
		}
	}
	slices.SortFunc(out, func(a, b v1alpha1.OwnedRule) int { return strings.Compare(a.GroupID+a.ID, b.GroupID+b.ID) })
	return out
}

// ownedGroups are the groups the status says hold rules of ours or were
// targets: where a cleanup must look.
func ownedGroups(st *v1alpha1.SecurityGroupsStatus) []string {
	var out []string
	for _, r := range st.OwnedRules {
		out = append(out, r.GroupID)
	}
	for _, g := range st.Groups {
		out = append(out, g.ID)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// sgCleanup removes every rule of cluster's enforcement from the groups the
// status knows: on Disabled, opt-out, and deletion of the cluster or the
// MemberGate.
func (r *GateReconciler) sgCleanup(ctx context.Context, out *sgOutcome, mg *v1alpha1.MemberGate, cluster types.NamespacedName, id Identity, why string) {
	st := out.status
	owner := ruleOwner(cluster)
	st.Mode, st.Diagnoses, st.Changes, st.Sources = v1alpha1.SecurityGroupsDisabled, nil, nil, nil
	prevProblems := st.Problems
	st.Problems = nil
	defer func() {
		out.cond = sgCondition(st)
		out.cond.Message += " (" + why + ")"
		r.reportProblems(mg, prevProblems, st.Problems)
	}()
	groups := ownedGroups(st)
	if len(groups) == 0 {
		st.OwnedRules, st.Groups = nil, nil
		out.dropFinalizer = true
		return
	}
	giveUp := func(err error) {
		// The credentials are gone for good (the Secret was deleted, say
		// with the namespace): waiting would keep the MemberGate forever.
		st.Problems = []string{problemOpenStack + err.Error()}
		out.dropFinalizer = true
		r.Recorder.Eventf(mg, nil, corev1.EventTypeWarning, "SecurityGroupRulesLeft", "SecurityGroups",
			"cannot remove membergate's rules (%v); remove them by hand: %s", err, describeOwned(st.OwnedRules))
	}
	if id.SecretName == "" {
		giveUp(fmt.Errorf("no identity Secret is known"))
		return
	}
	nc, err := r.Networks.Network(ctx, id)
	if err != nil {
		if apierrors.IsNotFound(err) {
			giveUp(err)
			return
		}
		st.Problems = []string{problemOpenStack + err.Error()}
		return
	}
	v := r.secgroups.view(nc, cluster.String(), r.Clock.Now())
	if err := v.rulesOf(ctx, groups); err != nil {
		st.Problems = []string{problemOpenStack + err.Error()}
		return
	}
	acts := secgroup.Reconcile(owner, secgroup.Disabled, nil, v.rulesIn(groups))
	for _, d := range acts.Delete {
		if err := v.remove(ctx, d); err != nil {
			st.Problems = append(st.Problems, problemOpenStack+err.Error())
			continue
		}
		r.Recorder.Eventf(mg, nil, corev1.EventTypeNormal, "SecurityGroupRuleRemoved", "SecurityGroups",
			"removed %s from group %s: %s", d, d.SecurityGroupID, why)
	}
	st.OwnedRules = ownedRules(v, groups, owner)
	out.dropFinalizer = len(st.OwnedRules) == 0
	if out.dropFinalizer {
		st.Groups = nil
		r.secgroups.forget(cluster.String(), mg.Status.LoadBalancer.ID)
	}
}

func describeOwned(rules []v1alpha1.OwnedRule) string {
	var parts []string
	for _, r := range rules {
		parts = append(parts, fmt.Sprintf("%s (%s in group %s)", r.ID, r.Rule, r.GroupID))
	}
	if len(parts) == 0 {
		return "none recorded"
	}
	return strings.Join(parts, ", ")
}

// reportProblems emits a Warning when the problems change. A spent
// request budget is not one: the next reconcile goes on where this one
// stopped.
func (r *GateReconciler) reportProblems(mg *v1alpha1.MemberGate, prev, now []string) {
	budget := func(p string) bool { return strings.Contains(p, ErrBudgetSpent.Error()) }
	prev, now = slices.DeleteFunc(slices.Clone(prev), budget), slices.DeleteFunc(slices.Clone(now), budget)
	if len(now) > 0 && !slices.Equal(prev, now) {
		r.Recorder.Eventf(mg, nil, corev1.EventTypeWarning, "SecurityGroupsProblem", "SecurityGroups", "%s", strings.Join(now, "; "))
	}
}

// addFinalizer makes the MemberGate wait for the cleanup of our rules.
func (r *GateReconciler) addFinalizer(ctx context.Context, mg *v1alpha1.MemberGate) error {
	if controllerutil.ContainsFinalizer(mg, v1alpha1.SecurityGroupsFinalizer) {
		return nil
	}
	orig := mg.DeepCopy()
	controllerutil.AddFinalizer(mg, v1alpha1.SecurityGroupsFinalizer)
	return r.Client.Patch(ctx, mg, client.MergeFrom(orig))
}

// releaseSecurityGroups removes the finalizer once no rule of ours remains.
func (r *GateReconciler) releaseSecurityGroups(ctx context.Context, mg *v1alpha1.MemberGate, o *sgOutcome) error {
	if o == nil || !o.dropFinalizer || !controllerutil.ContainsFinalizer(mg, v1alpha1.SecurityGroupsFinalizer) {
		return nil
	}
	orig := mg.DeepCopy()
	controllerutil.RemoveFinalizer(mg, v1alpha1.SecurityGroupsFinalizer)
	return client.IgnoreNotFound(r.Client.Patch(ctx, mg, client.MergeFrom(orig)))
}
