// Package diagnose traces why a load balancer's members fail their health
// checks, the way an operator would by hand — load balancer, pools, members,
// the Neutron port behind each member's address, its security groups and
// their rules — and says which group lacks which rule, or that the groups
// admit the traffic and the cause is elsewhere. Fix adds the missing rules.
package diagnose

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"

	"github.com/membergate/membergate/internal/cloud/services/networking"
	"github.com/membergate/membergate/pkg/memberwait"
	"github.com/membergate/membergate/pkg/secgroup"
)

// Verdicts of a row.
const (
	Admitted        = "admitted"
	MissingRule     = "missing rule"
	PortSecurityOff = "port security disabled"
	NoPort          = "no port found"
)

// Trace is the whole diagnosis of one load balancer.
type Trace struct {
	LoadBalancer LoadBalancer `json:"loadBalancer"`
	Rows         []Row        `json:"members"`
}

// LoadBalancer is what the trace starts from.
type LoadBalancer struct {
	ID                 string `json:"id"`
	Name               string `json:"name"`
	ProvisioningStatus string `json:"provisioningStatus"`
	OperatingStatus    string `json:"operatingStatus"`
	VIPAddress         string `json:"vipAddress"`
	VIPSubnetID        string `json:"vipSubnetID"`
}

// Row is one member: where its checks come from, which port and groups
// guard it, and the verdict.
type Row struct {
	PoolID             string `json:"poolID"`
	PoolName           string `json:"poolName,omitempty"`
	HasMonitor         bool   `json:"hasMonitor"`
	MemberID           string `json:"memberID"`
	MemberName         string `json:"memberName,omitempty"`
	Address            string `json:"address"`
	ProtocolPort       int    `json:"protocolPort"`
	MonitorPort        int    `json:"monitorPort,omitempty"`
	ProvisioningStatus string `json:"provisioningStatus"`
	OperatingStatus    string `json:"operatingStatus"`
	// Failing is true when the member is ACTIVE but not ONLINE (or ERROR):
	// the rows a person looks at first.
	Failing bool `json:"failing"`
	// Source is the subnet the load balancer reaches the member from.
	SourceSubnetID string   `json:"sourceSubnetID"`
	Source         string   `json:"source"`
	PortID         string   `json:"portID,omitempty"`
	Groups         []string `json:"groups,omitempty"`
	Verdict        string   `json:"verdict"`
	// By is the rule that admits the traffic; Fix the rule that would.
	By  *secgroup.Rule `json:"admittedBy,omitempty"`
	Fix *secgroup.Rule `json:"fix,omitempty"`
	// FixProject is the project owning Fix's group when it is not the
	// identity's: Fix never changes another project's group.
	FixProject string `json:"fixProject,omitempty"`
}

// CheckPort is the port health checks and traffic use: the monitor port
// when the member has one.
func (r Row) CheckPort() int {
	if r.MonitorPort != 0 {
		return r.MonitorPort
	}
	return r.ProtocolPort
}

// Run traces a load balancer given by ID or name.
//
// projectID is the identity's project (openstackauth.Clients.ProjectID):
// ports are looked for in it, and a group another project owns is reported,
// never fixed. With credentials that see several projects, an address alone
// can name another tenant's port. Empty looks everywhere.
func Run(ctx context.Context, lbClient, network *gophercloud.ServiceClient, projectID, ref string) (*Trace, error) {
	lb, err := findLoadBalancer(ctx, lbClient, ref)
	if err != nil {
		return nil, err
	}
	t := &Trace{LoadBalancer: LoadBalancer{ID: lb.ID, Name: lb.Name, ProvisioningStatus: lb.ProvisioningStatus,
		OperatingStatus: lb.OperatingStatus, VIPAddress: lb.VipAddress, VIPSubnetID: lb.VipSubnetID}}
	c := &cache{network: network, project: projectID, subnets: map[string]*subnets.Subnet{}, groups: map[string]*groups.SecGroup{}}
	for _, ref := range lb.Pools {
		pool, err := pools.Get(ctx, lbClient, ref.ID).Extract()
		if err != nil {
			return nil, fmt.Errorf("reading pool %s: %w", ref.ID, err)
		}
		pages, err := pools.ListMembers(lbClient, pool.ID, nil).AllPages(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing the members of pool %s: %w", pool.ID, err)
		}
		members, err := pools.ExtractMembers(pages)
		if err != nil {
			return nil, err
		}
		for _, m := range members {
			row := Row{PoolID: pool.ID, PoolName: pool.Name, HasMonitor: pool.MonitorID != "", MemberID: m.ID, MemberName: m.Name,
				Address: m.Address, ProtocolPort: m.ProtocolPort, MonitorPort: m.MonitorPort,
				ProvisioningStatus: m.ProvisioningStatus, OperatingStatus: m.OperatingStatus,
				Failing: m.ProvisioningStatus == "ERROR" || (m.ProvisioningStatus == "ACTIVE" && (m.OperatingStatus == "ERROR" || m.OperatingStatus == "OFFLINE"))}
			if err := c.judge(ctx, &row, m.SubnetID, lb.VipSubnetID); err != nil {
				return nil, err
			}
			t.Rows = append(t.Rows, row)
		}
	}
	return t, nil
}

// judge fills the row's source, port, groups and verdict, reading what
// [Judge] needs.
func (c *cache) judge(ctx context.Context, row *Row, memberSubnet, vipSubnet string) error {
	// Health checks come from the member's subnet when it has one (the
	// amphora plugs a port into it), else from the VIP's.
	row.SourceSubnetID = memberSubnet
	if row.SourceSubnetID == "" {
		row.SourceSubnetID = vipSubnet
	}
	sn, err := c.subnet(ctx, row.SourceSubnetID)
	if err != nil {
		return err
	}
	p, err := c.portOf(ctx, row.Address, memberSubnet)
	if err != nil {
		return err
	}
	var found *Port
	var all []secgroup.Rule
	if p != nil {
		found = &Port{ID: p.ID, SecurityGroups: p.SecurityGroups, PortSecurityEnabled: p.PortSecurityEnabled}
		for _, id := range p.SecurityGroups {
			g, err := c.group(ctx, id)
			if err != nil {
				return err
			}
			for _, r := range g.Rules {
				all = append(all, networking.RuleFromNeutron(r))
			}
		}
	}
	if err := Judge(row, sn.CIDR, found, all); err != nil {
		return err
	}
	if row.Fix != nil && c.project != "" {
		g, err := c.group(ctx, row.Fix.SecurityGroupID)
		if err != nil {
			return err
		}
		if g.ProjectID != c.project {
			row.FixProject = g.ProjectID
		}
	}
	return nil
}

// Port is what a verdict needs of the Neutron port holding a member's
// address.
type Port struct {
	ID             string
	SecurityGroups []string
	// PortSecurityEnabled is nil when Neutron says nothing (no
	// port-security extension), which is not "disabled".
	PortSecurityEnabled *bool
}

// Judge decides one member's row without any I/O, from the CIDR of the
// subnet its health checks come from, the port holding its address (nil
// when none was found) and the rules of that port's groups: admitted, or
// which rule is missing and on which group (the port's first), or that the
// port is not filtered at all. The manager calls it with what its own
// security-group pass already read.
func Judge(row *Row, sourceCIDR string, p *Port, groupRules []secgroup.Rule) error {
	row.Source = sourceCIDR
	src, err := netip.ParsePrefix(sourceCIDR)
	if err != nil {
		return fmt.Errorf("subnet %s has CIDR %q: %w", row.SourceSubnetID, sourceCIDR, err)
	}
	if p == nil {
		row.Verdict = NoPort
		return nil
	}
	row.PortID, row.Groups = p.ID, p.SecurityGroups
	if e := p.PortSecurityEnabled; e != nil && !*e {
		row.Verdict = PortSecurityOff
		return nil
	}
	v := secgroup.Check(groupRules, src, row.CheckPort())
	if v.Admitted {
		row.Verdict, row.By = Admitted, v.By
		return nil
	}
	row.Verdict = MissingRule
	fix := *v.Missing
	if len(p.SecurityGroups) > 0 {
		fix.SecurityGroupID = p.SecurityGroups[0]
	}
	fix.Description = "membergate: load balancer health checks and traffic from " + row.Source
	row.Fix = &fix
	return nil
}

type cache struct {
	network *gophercloud.ServiceClient
	project string
	subnets map[string]*subnets.Subnet
	groups  map[string]*groups.SecGroup
}

func (c *cache) subnet(ctx context.Context, id string) (*subnets.Subnet, error) {
	if sn, ok := c.subnets[id]; ok {
		return sn, nil
	}
	sn, err := subnets.Get(ctx, c.network, id).Extract()
	if err != nil {
		return nil, fmt.Errorf("reading subnet %s: %w", id, err)
	}
	c.subnets[id] = sn
	return sn, nil
}

func (c *cache) group(ctx context.Context, id string) (*groups.SecGroup, error) {
	if g, ok := c.groups[id]; ok {
		return g, nil
	}
	g, err := groups.Get(ctx, c.network, id).Extract()
	if err != nil {
		return nil, fmt.Errorf("reading security group %s: %w", id, err)
	}
	c.groups[id] = g
	return g, nil
}

// portOf finds the Neutron port holding a member's address, preferring the
// one in the member's subnet when the address is reused across networks.
func (c *cache) portOf(ctx context.Context, address, subnetID string) (*networking.Port, error) {
	// Neutron keeps fixed IPs in canonical form; Octavia keeps a member's
	// address as it was submitted (fd00::0a).
	pages, err := ports.List(c.network, ports.ListOpts{ProjectID: c.project,
		FixedIPs: []ports.FixedIPOpts{{IPAddress: memberwait.CanonicalAddress(address)}}}).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("looking up the port of %s: %w", address, err)
	}
	var found []networking.Port
	if err := ports.ExtractPortsInto(pages, &found); err != nil || len(found) == 0 {
		return nil, err
	}
	for i := range found {
		for _, ip := range found[i].FixedIPs {
			// Neutron and Octavia may spell one IPv6 address differently.
			if memberwait.SameAddress(ip.IPAddress, address) && (subnetID == "" || ip.SubnetID == subnetID) {
				return &found[i], nil
			}
		}
	}
	// The member names its subnet and no port holds the address there: a
	// port elsewhere is another network's, not the member's.
	if subnetID != "" {
		return nil, nil
	}
	return &found[0], nil
}

func findLoadBalancer(ctx context.Context, c *gophercloud.ServiceClient, ref string) (*loadbalancers.LoadBalancer, error) {
	lb, err := loadbalancers.Get(ctx, c, ref).Extract()
	if err == nil {
		return lb, nil
	}
	if !gophercloud.ResponseCodeIs(err, http.StatusNotFound) && !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		return nil, fmt.Errorf("reading load balancer %s: %w", ref, err)
	}
	pages, err := loadbalancers.List(c, loadbalancers.ListOpts{Name: ref}).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("looking up load balancer %q: %w", ref, err)
	}
	all, err := loadbalancers.ExtractLoadBalancers(pages)
	if err != nil {
		return nil, err
	}
	switch len(all) {
	case 0:
		return nil, &NotFoundError{Ref: ref}
	case 1:
		return &all[0], nil
	}
	ids := make([]string, len(all))
	for i, l := range all {
		ids[i] = l.ID
	}
	return nil, fmt.Errorf("%d load balancers are named %q (%s): give the ID", len(all), ref, strings.Join(ids, ", "))
}

// NotFoundError is a load balancer that neither ID nor name finds.
type NotFoundError struct{ Ref string }

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no load balancer with ID or name %q", e.Ref)
}

// Applied is one rule Fix created, or found already there.
type Applied struct {
	Rule    secgroup.Rule `json:"rule"`
	Existed bool          `json:"existed"`
}

// Fix creates the missing rule of every row that names one. A rule that
// already exists (409 SecurityGroupRuleExists, say from a concurrent fix)
// counts as done; the same rule wanted by several members is created once.
func Fix(ctx context.Context, network *gophercloud.ServiceClient, t *Trace) ([]Applied, error) {
	var out []Applied
	done := map[string]bool{}
	for _, row := range t.Rows {
		r := row.Fix
		if r == nil || r.SecurityGroupID == "" || row.FixProject != "" {
			continue
		}
		key := r.SecurityGroupID + "|" + r.String()
		if done[key] {
			continue
		}
		done[key] = true
		_, existed, err := networking.CreateRule(ctx, network, *r)
		if err != nil {
			return out, err
		}
		out = append(out, Applied{Rule: *r, Existed: existed})
	}
	return out, nil
}
