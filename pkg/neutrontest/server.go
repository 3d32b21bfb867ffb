// Package neutrontest is a Neutron v2.0 API emulator for tests, in the spirit
// of net/http/httptest: networks, subnets, ports and security groups with
// their rules — the subset membergate's security-group enforcement and
// diagnosis use — with Neutron's error bodies (a duplicate rule is 409
// SecurityGroupRuleExists). It is held to real Neutron 21 by the conformance
// suite.
package neutrontest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"

	"github.com/gophercloud/gophercloud/v2"
)

// Server is a running Neutron emulator on a loopback port.
type Server struct {
	// URL is the base URL; the API lives under URL + "/v2.0/".
	URL string

	srv *httptest.Server
	mu  sync.Mutex
	ids int

	networks map[string]*Network
	subnets  map[string]*Subnet
	ports    map[string]*Port
	groups   map[string]*Group
	rules    map[string]*Rule
	requests map[string]int
	onRule   func(Rule)
	// overloads are the scripted refusals still to come.
	overloads []*overload
}

// Network, Subnet, Port, Group and Rule are the stored objects, with
// Neutron's JSON field names.
type (
	Network struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		ProjectID string `json:"project_id"`
		TenantID  string `json:"tenant_id"`
	}
	Subnet struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		NetworkID string `json:"network_id"`
		CIDR      string `json:"cidr"`
		IPVersion int    `json:"ip_version"`
		ProjectID string `json:"project_id"`
		TenantID  string `json:"tenant_id"`
	}
	FixedIP struct {
		SubnetID  string `json:"subnet_id"`
		IPAddress string `json:"ip_address"`
	}
	Port struct {
		ID                  string    `json:"id"`
		Name                string    `json:"name"`
		NetworkID           string    `json:"network_id"`
		DeviceID            string    `json:"device_id"`
		FixedIPs            []FixedIP `json:"fixed_ips"`
		SecurityGroups      []string  `json:"security_groups"`
		PortSecurityEnabled bool      `json:"port_security_enabled"`
		ProjectID           string    `json:"project_id"`
		TenantID            string    `json:"tenant_id"`
	}
	Group struct {
		ID          string  `json:"id"`
		Name        string  `json:"name"`
		Description string  `json:"description"`
		ProjectID   string  `json:"project_id"`
		TenantID    string  `json:"tenant_id"`
		Rules       []*Rule `json:"security_group_rules"`
	}
	Rule struct {
		ID              string  `json:"id"`
		SecurityGroupID string  `json:"security_group_id"`
		Direction       string  `json:"direction"`
		EtherType       string  `json:"ethertype"`
		Protocol        *string `json:"protocol"`
		PortRangeMin    *int    `json:"port_range_min"`
		PortRangeMax    *int    `json:"port_range_max"`
		RemoteIPPrefix  *string `json:"remote_ip_prefix"`
		RemoteGroupID   *string `json:"remote_group_id"`
		Description     string  `json:"description"`
		ProjectID       string  `json:"project_id"`
		TenantID        string  `json:"tenant_id"`
	}
)

// DefaultProjectID owns what a test creates without naming a project.
const DefaultProjectID = "5f0c8a3e9d2b4c6fa1e7b3d9c8f2a4e6"

// NewServer starts an emulator on 127.0.0.1.
func NewServer() *Server {
	s := &Server{networks: map[string]*Network{}, subnets: map[string]*Subnet{}, ports: map[string]*Port{},
		groups: map[string]*Group{}, rules: map[string]*Rule{}, requests: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// ServiceClient returns a gophercloud client for the emulator's network
// service. Like real Neutron without Keystone, requests carry no project
// header and run as admin.
func (s *Server) ServiceClient() *gophercloud.ServiceClient {
	return &gophercloud.ServiceClient{ProviderClient: &gophercloud.ProviderClient{HTTPClient: *s.srv.Client()},
		Endpoint: s.URL + "/", ResourceBase: s.URL + "/v2.0/", Type: "network"}
}

// Requests returns how many requests each "METHOD /v2.0/collection" got.
func (s *Server) Requests() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.requests)
}

func (s *Server) newID() string {
	s.ids++
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", s.ids, s.ids)
}

// AddNetwork creates a network with one subnet per CIDR and returns their IDs.
func (s *Server) AddNetwork(name string, cidrs ...string) (networkID string, subnetIDs []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := &Network{ID: s.newID(), Name: name, ProjectID: DefaultProjectID, TenantID: DefaultProjectID}
	s.networks[n.ID] = n
	for i, c := range cidrs {
		p := netip.MustParsePrefix(c)
		v := 4
		if p.Addr().Is6() {
			v = 6
		}
		sn := &Subnet{ID: s.newID(), Name: fmt.Sprintf("%s-%d", name, i), NetworkID: n.ID, CIDR: p.Masked().String(), IPVersion: v,
			ProjectID: DefaultProjectID, TenantID: DefaultProjectID}
		s.subnets[sn.ID] = sn
		subnetIDs = append(subnetIDs, sn.ID)
	}
	return n.ID, subnetIDs
}

// DefaultGroup returns the project's "default" group, creating it as
// Neutron does: ingress from its own members only, egress anywhere.
func (s *Server) DefaultGroup() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.groups {
		if g.Name == "default" {
			return g.ID
		}
	}
	g := s.newGroupLocked("default", "Default security group")
	for _, et := range []string{"IPv4", "IPv6"} {
		self := g.ID
		s.addRuleLocked(&Rule{SecurityGroupID: g.ID, Direction: "ingress", EtherType: et, RemoteGroupID: &self})
	}
	return g.ID
}

// AddPort creates a port with a fixed IP in a subnet, guarded by groups.
func (s *Server) AddPort(name, subnetID, ip string, groups ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn := s.subnets[subnetID]
	p := &Port{ID: s.newID(), Name: name, NetworkID: sn.NetworkID, FixedIPs: []FixedIP{{SubnetID: subnetID, IPAddress: ip}},
		SecurityGroups: append([]string{}, groups...), PortSecurityEnabled: true, ProjectID: DefaultProjectID, TenantID: DefaultProjectID}
	s.ports[p.ID] = p
	return p.ID
}

func (s *Server) newGroupLocked(name, desc string) *Group {
	g := &Group{ID: s.newID(), Name: name, Description: desc, ProjectID: DefaultProjectID, TenantID: DefaultProjectID}
	s.groups[g.ID] = g
	// Neutron gives every new group its two egress rules.
	for _, et := range []string{"IPv4", "IPv6"} {
		s.addRuleLocked(&Rule{SecurityGroupID: g.ID, Direction: "egress", EtherType: et})
	}
	return g
}

func (s *Server) addRuleLocked(r *Rule) {
	r.ID = s.newID()
	r.ProjectID, r.TenantID = DefaultProjectID, DefaultProjectID
	s.rules[r.ID] = r
	g := s.groups[r.SecurityGroupID]
	g.Rules = append(g.Rules, r)
}

// duplicateLocked returns the existing rule equal to r, as Neutron compares.
func (s *Server) duplicateLocked(r *Rule) *Rule {
	for _, o := range s.groups[r.SecurityGroupID].Rules {
		if o.Direction == r.Direction && o.EtherType == r.EtherType && eq(o.Protocol, r.Protocol) &&
			eqInt(o.PortRangeMin, r.PortRangeMin) && eqInt(o.PortRangeMax, r.PortRangeMax) &&
			eq(o.RemoteIPPrefix, r.RemoteIPPrefix) && eq(o.RemoteGroupID, r.RemoteGroupID) {
			return o
		}
	}
	return nil
}

func eq(a, b *string) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && strings.EqualFold(*a, *b))
}

func eqInt(a, b *int) bool { return (a == nil && b == nil) || (a != nil && b != nil && *a == *b) }

type neutronError struct {
	NeutronError struct {
		Type    string `json:"type"`
		Message string `json:"message"`
		Detail  string `json:"detail"`
	} `json:"NeutronError"`
}

func writeError(w http.ResponseWriter, code int, typ, msg string) {
	var e neutronError
	e.NeutronError.Type, e.NeutronError.Message = typ, msg
	writeJSON(w, code, e)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// SetProject moves a network, subnet, port or security group (by ID) to
// another project, as objects another tenant owns look to an identity
// that sees several projects (an admin's).
func (s *Server) SetProject(id, project string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.networks[id] != nil:
		s.networks[id].ProjectID, s.networks[id].TenantID = project, project
	case s.subnets[id] != nil:
		s.subnets[id].ProjectID, s.subnets[id].TenantID = project, project
	case s.ports[id] != nil:
		s.ports[id].ProjectID, s.ports[id].TenantID = project, project
	case s.groups[id] != nil:
		s.groups[id].ProjectID, s.groups[id].TenantID = project, project
	default:
		panic(fmt.Sprintf("neutrontest: no object %s", id))
	}
}

// OnRuleCreated calls f with each security-group rule created through the
// API, after it is stored, so that a test can make the world react to it
// (a member's health checks passing once its node admits them). f runs
// while the server is locked: it must not call the server.
func (s *Server) OnRuleCreated(f func(Rule)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onRule = f
}
