// Package networking is Neutron as membergate reads and writes it: subnets'
// CIDRs, the ports holding nodes' addresses, security-group rules. The
// security-group reconciler plans and converges with it; the diagnosis
// (internal/diagnose) converts and creates rules with it.
package networking

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"

	"github.com/membergate/membergate/pkg/memberwait"
	"github.com/membergate/membergate/pkg/secgroup"
)

// NoPortTTL is how long a lookup that found no port for an address is
// trusted, so that an address without a port does not cost a request every
// pass.
const NoPortTTL = 10 * time.Minute

// Cache keeps what Neutron says across reconciles, where it is safe: a
// subnet's CIDR never changes (Neutron refuses to update it), so it is
// kept for good; which port holds a Machine's address rarely changes, so
// the port ID is kept and the port itself (its groups) read again, all of
// a cluster's ports in one request.
//
// Everything is keyed by the clients' key (scope.NetworkClients.Key: the
// identity and the endpoints), never by the cloud alone: the subnet IDs
// and CIDRs come from a Neutron the tenant chose.
type Cache struct {
	mu      sync.Mutex
	subnets map[string]subnetRef    // clients' key + " " + subnet ID
	ports   map[string]clusterPorts // cluster
}

type subnetRef struct {
	cidr string
	used time.Time
}

// clusterPorts are the ports found for a cluster's addresses through the
// clients of key; a cluster whose identity or endpoints change starts
// afresh.
type clusterPorts struct {
	key   string
	ports map[string]portRef // address → port
}

// SubnetIdle is how long a subnet's CIDR is kept unused: the identities
// of deleted clusters leave nothing behind for longer.
const SubnetIdle = time.Hour

// Forget drops what is kept for a cluster.
func (c *Cache) Forget(cluster string) {
	c.mu.Lock()
	delete(c.ports, cluster)
	c.mu.Unlock()
}

type portRef struct {
	id string
	at time.Time // when a lookup found no port; such answers expire
}

// Service is one cloud's Neutron as one reconcile of one cluster sees it:
// it reads each thing at most once — the ports of a set of addresses and
// the rules of a set of groups, each in one request when the cache is warm.
type Service struct {
	network *gophercloud.ServiceClient
	key     string
	cache   *Cache
	cluster string
	now     time.Time
	// project and network narrow every port lookup (see Within).
	project, networkID string

	ports map[string]*Port           // by address; nil: no port holds it
	rules map[string][]secgroup.Rule // by group ID
}

// NewService returns the Neutron behind network for a reconcile of cluster
// at now. key names the identity and endpoints the client reads through
// (scope.NetworkClients.Key): what cache keeps is kept under it.
func NewService(network *gophercloud.ServiceClient, key string, cache *Cache, cluster string, now time.Time) *Service {
	return &Service{network: network, key: key, cache: cache, cluster: cluster, now: now,
		ports: map[string]*Port{}, rules: map[string][]secgroup.Rule{}}
}

// Within narrows the port lookups to one project and one network (either
// may be empty: not narrowed). With credentials that see several projects
// (an admin's, or a shared network's) and overlapping private ranges, an
// address alone can name another project's port, whose groups are not the
// cluster's to change.
func (s *Service) Within(projectID, networkID string) *Service {
	s.project, s.networkID = projectID, networkID
	return s
}

// narrow adds Within's filters to a port query.
func (s *Service) narrow(q query) query {
	if s.project != "" {
		q["project_id"] = []string{s.project}
	}
	if s.networkID != "" {
		q["network_id"] = []string{s.networkID}
	}
	return q
}

// GetSubnetCIDR returns a subnet's CIDR, read once per identity and
// endpoint.
func (s *Service) GetSubnetCIDR(ctx context.Context, id string) (string, error) {
	if id == "" {
		return "", errors.New("the load balancer names no subnet for its members or VIP")
	}
	key := s.key + " " + id
	s.cache.mu.Lock()
	ref, ok := s.cache.subnets[key]
	if ok {
		ref.used = s.now
		s.cache.subnets[key] = ref
	}
	s.cache.mu.Unlock()
	if ok {
		return ref.cidr, nil
	}
	sn, err := subnets.Get(ctx, s.network, id).Extract()
	if err != nil {
		return "", fmt.Errorf("reading subnet %s: %w", id, err)
	}
	s.cache.mu.Lock()
	if s.cache.subnets == nil {
		s.cache.subnets = map[string]subnetRef{}
	}
	// Each new entry sweeps the idle ones out: the cache holds the subnets
	// of the identities in use, not of every identity ever seen.
	for k, r := range s.cache.subnets {
		if s.now.Sub(r.used) > SubnetIdle {
			delete(s.cache.subnets, k)
		}
	}
	s.cache.subnets[key] = subnetRef{cidr: sn.CIDR, used: s.now}
	s.cache.mu.Unlock()
	return sn.CIDR, nil
}

// FindPorts finds the ports holding addresses: the known ones in one
// request by ID, the others by fixed IP, one request each (only the first
// time). hint names the subnet to prefer when an address is in several
// networks.
func (s *Service) FindPorts(ctx context.Context, addresses []string, hint map[string]string) error {
	var want []string
	for _, a := range addresses {
		if _, done := s.ports[a]; !done && !slices.Contains(want, a) {
			want = append(want, a)
		}
	}
	if len(want) == 0 {
		return nil
	}
	s.cache.mu.Lock()
	known := map[string]portRef{}
	if cp := s.cache.ports[s.cluster]; cp.key == s.key {
		for _, a := range want {
			if ref, ok := cp.ports[a]; ok {
				known[a] = ref
			}
		}
	}
	s.cache.mu.Unlock()

	var ids []string
	for _, ref := range known {
		if ref.id != "" && !slices.Contains(ids, ref.id) {
			ids = append(ids, ref.id)
		}
	}
	if len(ids) > 0 {
		slices.Sort(ids)
		found, err := s.listPorts(ctx, s.narrow(query{"id": ids}))
		if err != nil {
			return err
		}
		for i := range found {
			for _, a := range want {
				if known[a].id == found[i].ID && found[i].Holds(a) {
					s.ports[a] = &found[i]
				}
			}
		}
	}
	for _, a := range want {
		if _, ok := s.ports[a]; ok {
			continue
		}
		// A lookup that found nothing is trusted for a while, so an
		// address without a port does not cost a request every pass.
		if ref, ok := known[a]; ok && ref.id == "" && s.now.Sub(ref.at) < NoPortTTL {
			s.ports[a] = nil
			continue
		}
		// Neutron keeps fixed IPs canonical; Octavia keeps a member's
		// address as it was submitted.
		found, err := s.listPorts(ctx, s.narrow(query{"fixed_ips": {"ip_address=" + memberwait.CanonicalAddress(a)}}))
		if err != nil {
			return err
		}
		s.ports[a] = pick(found, a, hint[a])
		ref := portRef{at: s.now}
		if p := s.ports[a]; p != nil {
			ref.id = p.ID
		}
		s.cache.mu.Lock()
		if s.cache.ports == nil {
			s.cache.ports = map[string]clusterPorts{}
		}
		cp := s.cache.ports[s.cluster]
		if cp.key != s.key || cp.ports == nil {
			cp = clusterPorts{key: s.key, ports: map[string]portRef{}}
			s.cache.ports[s.cluster] = cp
		}
		cp.ports[a] = ref
		s.cache.mu.Unlock()
	}
	return nil
}

// Port is the port FindPorts found holding address; nil when none does or
// it was not looked for.
func (s *Service) Port(address string) *Port { return s.ports[address] }

func (s *Service) listPorts(ctx context.Context, q query) ([]Port, error) {
	pages, err := ports.List(s.network, q).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing ports: %w", err)
	}
	var found []Port
	if err := ports.ExtractPortsInto(pages, &found); err != nil {
		return nil, err
	}
	return found, nil
}

// ListRules reads the rules of the groups not read yet, in one request.
func (s *Service) ListRules(ctx context.Context, groups []string) error {
	var want []string
	for _, g := range groups {
		if _, done := s.rules[g]; !done && !slices.Contains(want, g) {
			want = append(want, g)
		}
	}
	if len(want) == 0 {
		return nil
	}
	slices.Sort(want)
	pages, err := rules.List(s.network, query{"security_group_id": want}).AllPages(ctx)
	if err != nil {
		return fmt.Errorf("listing the rules of groups %s: %w", strings.Join(want, ", "), err)
	}
	all, err := rules.ExtractRules(pages)
	if err != nil {
		return err
	}
	for _, g := range want {
		s.rules[g] = []secgroup.Rule{}
	}
	for _, r := range all {
		if _, ok := s.rules[r.SecGroupID]; ok {
			s.rules[r.SecGroupID] = append(s.rules[r.SecGroupID], RuleFromNeutron(r))
		}
	}
	return nil
}

// Rules returns the read rules of groups, together.
func (s *Service) Rules(groups ...string) []secgroup.Rule {
	var out []secgroup.Rule
	for _, g := range groups {
		out = append(out, s.rules[g]...)
	}
	return out
}

// CreateRule adds a rule. One that exists already (409
// SecurityGroupRuleExists, from a concurrent pass or another tool) counts
// as created.
func (s *Service) CreateRule(ctx context.Context, r secgroup.Rule) (secgroup.Rule, error) {
	id, _, err := CreateRule(ctx, s.network, r)
	if err != nil {
		return r, err
	}
	r.ID = id
	s.rules[r.SecurityGroupID] = append(s.rules[r.SecurityGroupID], r)
	return r, nil
}

// DeleteRule deletes a rule; one already gone counts as deleted.
func (s *Service) DeleteRule(ctx context.Context, r secgroup.Rule) error {
	err := rules.Delete(ctx, s.network, r.ID).ExtractErr()
	if err != nil && !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		return fmt.Errorf("removing %s from group %s: %w", r, r.SecurityGroupID, err)
	}
	s.rules[r.SecurityGroupID] = slices.DeleteFunc(s.rules[r.SecurityGroupID], func(o secgroup.Rule) bool { return o.ID == r.ID })
	return nil
}

// query is a list query with repeated keys, which gophercloud's ListOpts
// cannot say: Neutron reads ?id=a&id=b as "a or b", so one request covers
// every port or group of a cluster.
type query url.Values

func (q query) encode() (string, error)              { return "?" + url.Values(q).Encode(), nil }
func (q query) ToPortListQuery() (string, error)     { return q.encode() }
func (q query) ToSecGroupListQuery() (string, error) { return q.encode() }

// ForeignGroups returns, of groups, those another project than the one
// Within named owns, with their project: a rule there would change another
// tenant's firewall. One request; none when no project is known.
func (s *Service) ForeignGroups(ctx context.Context, groups []string) (map[string]string, error) {
	if s.project == "" || len(groups) == 0 {
		return nil, nil
	}
	ids := slices.Clone(groups)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	q, _ := query{"id": ids, "fields": {"id", "project_id"}}.encode()
	var body struct {
		Groups []groupProject `json:"security_groups"`
	}
	// gophercloud reads and closes the body into &body.
	if _, err := s.network.Get(ctx, s.network.ServiceURL("security-groups")+q, &body, nil); err != nil { //nolint:bodyclose // see above
		return nil, fmt.Errorf("reading the projects of groups %s: %w", strings.Join(ids, ", "), err)
	}
	out := map[string]string{}
	for _, id := range ids {
		// A group this identity cannot see is certainly not its own.
		out[id] = "(not visible to the cluster's identity)"
	}
	for _, g := range body.Groups {
		if g.ProjectID == s.project {
			delete(out, g.ID)
		} else if _, asked := out[g.ID]; asked {
			out[g.ID] = g.ProjectID
		}
	}
	return out, nil
}

type groupProject struct {
	ID        string `json:"id"`
	ProjectID string `json:"project_id"`
}
