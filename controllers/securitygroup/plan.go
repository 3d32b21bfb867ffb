package securitygroup

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/membergate/membergate/internal/cloud/services/loadbalancer"
	"github.com/membergate/membergate/internal/cloud/services/networking"
	"github.com/membergate/membergate/pkg/secgroup"
)

// guarded is a Neutron port the policy guards and what it must admit.
type guarded struct {
	port      *networking.Port
	machines  []string
	ports     []int // control plane: the members' protocol and monitor ports
	nodePorts bool  // workers
}

// derivedSources are the CIDRs of the subnets the load balancer reaches
// its members from: each member's subnet, or the VIP's for members with
// none.
func derivedSources(ctx context.Context, v *networking.Service, topo *loadbalancer.Topology) ([]secgroup.Source, error) {
	var subnets []string
	for _, m := range topo.Members {
		subnets = append(subnets, m.SourceSubnet(topo.VIPSubnetID))
	}
	if len(topo.Members) == 0 {
		subnets = append(subnets, topo.VIPSubnetID)
	}
	slices.Sort(subnets)
	var out []secgroup.Source
	for _, id := range slices.Compact(subnets) {
		cidr, err := v.GetSubnetCIDR(ctx, id)
		if err != nil {
			return nil, err
		}
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			return nil, fmt.Errorf("subnet %s has CIDR %q: %w", id, cidr, err)
		}
		if src := (secgroup.Source{Prefix: p.Masked(), Derived: true}); !slices.Contains(out, src) {
			out = append(out, src)
		}
	}
	return out, nil
}

// memberPorts are the control-plane ports to open: every member's protocol
// port and monitor port, as the pools say — not an assumed 6443.
func memberPorts(topo *loadbalancer.Topology) []int {
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
func (r *Reconciler) guardedPorts(ctx context.Context, v *networking.Service, topo *loadbalancer.Topology, in input, pol policy) ([]*guarded, []string, error) {
	type node struct {
		name   string
		addrs  []string
		worker bool
	}
	hint := map[string]string{}
	var nodes []node
	for _, m := range in.machines {
		n := node{name: m.Name, addrs: internalAddresses(&m)}
		for _, pm := range in.members[m.Name] {
			if ms := pm.status; ms.Address != "" {
				n.addrs = append(n.addrs, ms.Address)
				if tm, ok := topo.Member(ms.ID); ok && tm.SubnetID != "" {
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
	if err := v.FindPorts(ctx, all, hint); err != nil {
		return nil, nil, err
	}
	cpPorts := memberPorts(topo)
	byPort := map[string]*guarded{}
	var out []*guarded
	var missing []string
	for _, n := range nodes {
		found := false
		for _, a := range n.addrs {
			p := v.Port(a)
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
			if len(p.SecurityGroups) == 0 && p.Filtered() {
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

// plan is secgroup.Plan per source and guarded port, with the rule put on
// the port's first group, and left out where some group of the port
// already admits it by a rule that is not ours (one of ours is what
// secgroup.Diff keeps). Traffic is admitted when any of a port's groups
// admits it, so one rule per port is enough.
func plan(pol policy, owner secgroup.Owner, sources []secgroup.Source, guards []*guarded, v *networking.Service) ([]secgroup.Rule, []string) {
	var planned []secgroup.Rule
	var refused []string
	seen := map[string]bool{}
	for _, src := range sources {
		for _, g := range guards {
			groups := g.port.SecurityGroups
			if len(groups) == 0 || !g.port.Filtered() {
				continue
			}
			cands, errs := secgroup.Plan(pol.Policy, []secgroup.Source{src}, []secgroup.Guarded{{GroupID: groups[0], Ports: g.ports, NodePorts: g.nodePorts}})
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

func coveredByOthers(c secgroup.Rule, groups []string, v *networking.Service, owner secgroup.Owner) bool {
	for _, gid := range groups {
		want := c
		want.SecurityGroupID = gid
		others := slices.DeleteFunc(slices.Clone(v.Rules(gid)), owner.Owns)
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
func ovnClients(topo *loadbalancer.Topology, guards []*guarded, v *networking.Service) []string {
	var out []string
	for _, l := range topo.Listeners {
		for _, c := range l.AllowedCIDRs {
			src, err := netip.ParsePrefix(c)
			if err != nil {
				continue
			}
			for _, g := range guards {
				if (g.nodePorts && len(g.ports) == 0) || !g.port.Filtered() {
					continue
				}
				rules := v.Rules(g.port.SecurityGroups...)
				for _, m := range topo.Members {
					if !secgroup.Check(rules, src.Masked(), m.ProtocolPort).Admitted {
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
