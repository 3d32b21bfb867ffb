package controllers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"

	"github.com/membergate/membergate/internal/diagnose"
	"github.com/membergate/membergate/pkg/memberwait"
	"github.com/membergate/membergate/pkg/secgroup"
)

// sgCaches keep what Neutron says across reconciles, where it is safe:
// a subnet's CIDR never changes (Neutron refuses to update it), so it is
// kept for good; which port holds a Machine's address rarely changes, so
// the port ID is kept and the port itself (its groups) read again, all of
// a cluster's ports in one request.
type sgCaches struct {
	topo    topologies
	mu      sync.Mutex
	subnets map[string]string             // cloud + " " + subnet ID → CIDR
	ports   map[string]map[string]portRef // cluster → address → port
	inputs  map[string]string             // cluster → what the last pass saw
}

// forget drops what is kept for a cluster whose rules are gone.
func (c *sgCaches) forget(cluster, lbID string) {
	c.mu.Lock()
	delete(c.ports, cluster)
	delete(c.inputs, cluster)
	c.mu.Unlock()
	c.topo.mu.Lock()
	delete(c.topo.m, lbID)
	c.topo.mu.Unlock()
}

type portRef struct {
	id string
	at time.Time // when a lookup found no port; such answers expire
}

// nPort is a Neutron port with the port-security extension's field.
type nPort struct {
	ports.Port
	diagnose.PortSecurity
}

func (p *nPort) holds(address string) bool {
	for _, ip := range p.FixedIPs {
		if memberwait.SameAddress(ip.IPAddress, address) {
			return true
		}
	}
	return false
}

// filtered reports whether the port's security groups apply: a port with
// port security disabled admits everything.
func (p *nPort) filtered() bool {
	return p.PortSecurityEnabled == nil || *p.PortSecurityEnabled
}

// neutronView reads what one reconcile needs from Neutron, each thing at
// most once: the ports of a set of addresses and the rules of a set of
// groups, each in one request when the caches are warm.
type neutronView struct {
	nc      *NetworkClients
	caches  *sgCaches
	cluster string
	now     time.Time

	ports map[string]*nPort          // by address; nil: no port holds it
	rules map[string][]secgroup.Rule // by group ID
}

func (c *sgCaches) view(nc *NetworkClients, cluster string, now time.Time) *neutronView {
	return &neutronView{nc: nc, caches: c, cluster: cluster, now: now, ports: map[string]*nPort{}, rules: map[string][]secgroup.Rule{}}
}

// subnetCIDR returns a subnet's CIDR, read once per cloud.
func (v *neutronView) subnetCIDR(ctx context.Context, id string) (string, error) {
	if id == "" {
		return "", errors.New("the load balancer names no subnet for its members or VIP")
	}
	key := v.nc.Cloud + " " + id
	v.caches.mu.Lock()
	cidr, ok := v.caches.subnets[key]
	v.caches.mu.Unlock()
	if ok {
		return cidr, nil
	}
	sn, err := subnets.Get(ctx, v.nc.Network, id).Extract()
	if err != nil {
		return "", fmt.Errorf("reading subnet %s: %w", id, err)
	}
	v.caches.mu.Lock()
	if v.caches.subnets == nil {
		v.caches.subnets = map[string]string{}
	}
	v.caches.subnets[key] = sn.CIDR
	v.caches.mu.Unlock()
	return sn.CIDR, nil
}

// portsOf finds the ports holding addresses: the known ones in one request
// by ID, the others by fixed IP, one request each (only the first time).
// hint names the subnet to prefer when an address is in several networks.
func (v *neutronView) portsOf(ctx context.Context, addresses []string, hint map[string]string) error {
	var want []string
	for _, a := range addresses {
		if _, done := v.ports[a]; !done && !slices.Contains(want, a) {
			want = append(want, a)
		}
	}
	if len(want) == 0 {
		return nil
	}
	v.caches.mu.Lock()
	known := map[string]portRef{}
	for _, a := range want {
		if ref, ok := v.caches.ports[v.cluster][a]; ok {
			known[a] = ref
		}
	}
	v.caches.mu.Unlock()

	var ids []string
	for _, ref := range known {
		if ref.id != "" && !slices.Contains(ids, ref.id) {
			ids = append(ids, ref.id)
		}
	}
	if len(ids) > 0 {
		slices.Sort(ids)
		found, err := v.listPorts(ctx, query{"id": ids})
		if err != nil {
			return err
		}
		for i := range found {
			for _, a := range want {
				if known[a].id == found[i].ID && found[i].holds(a) {
					v.ports[a] = &found[i]
				}
			}
		}
	}
	for _, a := range want {
		if _, ok := v.ports[a]; ok {
			continue
		}
		// A lookup that found nothing is trusted for a while, so an
		// address without a port does not cost a request every pass.
		if ref, ok := known[a]; ok && ref.id == "" && v.now.Sub(ref.at) < TopologyTTL {
			v.ports[a] = nil
			continue
		}
		// Neutron keeps fixed IPs canonical; Octavia keeps a member's
		// address as it was submitted.
		found, err := v.listPorts(ctx, query{"fixed_ips": {"ip_address=" + memberwait.CanonicalAddress(a)}})
		if err != nil {
			return err
		}
		v.ports[a] = pick(found, a, hint[a])
		ref := portRef{at: v.now}
		if p := v.ports[a]; p != nil {
			ref.id = p.ID
		}
		v.caches.mu.Lock()
		if v.caches.ports == nil {
			v.caches.ports = map[string]map[string]portRef{}
		}
		if v.caches.ports[v.cluster] == nil {
			v.caches.ports[v.cluster] = map[string]portRef{}
		}
		v.caches.ports[v.cluster][a] = ref
		v.caches.mu.Unlock()
	}
	return nil
}

// pick returns the port holding address, preferring one in subnet.
func pick(found []nPort, address, subnet string) *nPort {
	var first *nPort
	for i := range found {
		for _, ip := range found[i].FixedIPs {
			if !memberwait.SameAddress(ip.IPAddress, address) {
				continue
			}
			if subnet == "" || ip.SubnetID == subnet {
				return &found[i]
			}
			if first == nil {
				first = &found[i]
			}
		}
	}
	return first
}

func (v *neutronView) listPorts(ctx context.Context, q query) ([]nPort, error) {
	pages, err := ports.List(v.nc.Network, q).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing ports: %w", err)
	}
	var found []nPort
	if err := ports.ExtractPortsInto(pages, &found); err != nil {
		return nil, err
	}
	return found, nil
}

// rulesOf reads the rules of the groups not read yet, in one request.
func (v *neutronView) rulesOf(ctx context.Context, groups []string) error {
	var want []string
	for _, g := range groups {
		if _, done := v.rules[g]; !done && !slices.Contains(want, g) {
			want = append(want, g)
		}
	}
	if len(want) == 0 {
		return nil
	}
	slices.Sort(want)
	pages, err := rules.List(v.nc.Network, query{"security_group_id": want}).AllPages(ctx)
	if err != nil {
		return fmt.Errorf("listing the rules of groups %s: %w", strings.Join(want, ", "), err)
	}
	all, err := rules.ExtractRules(pages)
	if err != nil {
		return err
	}
	for _, g := range want {
		v.rules[g] = []secgroup.Rule{}
	}
	for _, r := range all {
		if _, ok := v.rules[r.SecGroupID]; ok {
			v.rules[r.SecGroupID] = append(v.rules[r.SecGroupID], diagnose.FromNeutron(r))
		}
	}
	return nil
}

// rulesIn returns the read rules of groups, together.
func (v *neutronView) rulesIn(groups []string) []secgroup.Rule {
	var out []secgroup.Rule
	for _, g := range groups {
		out = append(out, v.rules[g]...)
	}
	return out
}

// create adds a rule. One that exists already (409
// SecurityGroupRuleExists, from a concurrent pass or another tool) counts
// as created.
func (v *neutronView) create(ctx context.Context, r secgroup.Rule) (secgroup.Rule, error) {
	id, _, err := diagnose.CreateRule(ctx, v.nc.Network, r)
	if err != nil {
		return r, err
	}
	r.ID = id
	v.rules[r.SecurityGroupID] = append(v.rules[r.SecurityGroupID], r)
	return r, nil
}

// remove deletes a rule; one already gone counts as deleted.
func (v *neutronView) remove(ctx context.Context, r secgroup.Rule) error {
	err := rules.Delete(ctx, v.nc.Network, r.ID).ExtractErr()
	if err != nil && !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		return fmt.Errorf("removing %s from group %s: %w", r, r.SecurityGroupID, err)
	}
	v.rules[r.SecurityGroupID] = slices.DeleteFunc(v.rules[r.SecurityGroupID], func(o secgroup.Rule) bool { return o.ID == r.ID })
	return nil
}
