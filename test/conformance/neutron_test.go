package conformance

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
)

// neutronError is Neutron's error body.
type neutronError struct {
	NeutronError struct {
		Type    string `json:"type"`
		Message string `json:"message"`
		Detail  string `json:"detail"`
	} `json:"NeutronError"`
}

func neutronErr(t *testing.T, err error, wantCode int) (neutronError, string) {
	t.Helper()
	var code gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &code) || code.Actual != wantCode {
		t.Fatalf("err = %v, want HTTP %d", err, wantCode)
	}
	var ne neutronError
	if jerr := json.Unmarshal(code.Body, &ne); jerr != nil {
		t.Fatalf("error body %s: %v", code.Body, jerr)
	}
	return ne, string(code.Body)
}

// TestNeutronSecurityGroups checks, against real Neutron 21, the operations
// security-group enforcement is built on: networks and subnets (the source
// CIDRs), groups and ingress TCP rules from a CIDR or another group for
// IPv4 and IPv6, ports carrying groups and found by fixed IP (member address
// → port → groups), the 409 for a duplicate rule (which enforcement takes
// for success), and clean-up.
//
// The client is the member user's, through Keystone: creates that name the
// token's project in the body land there, as do creates that name none.
func TestNeutronSecurityGroups(t *testing.T) {
	s := realStack(t)
	c := s.neutron(t)
	project := s.get("OS_PROJECT_ID")
	suffix := fmt.Sprint(time.Now().UnixNano())
	var cleanups []func() error
	t.Cleanup(func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			if err := cleanups[i](); err != nil && !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
				t.Errorf("clean-up: %v", err)
			}
		}
	})

	net, err := networks.Create(ctx, c, networks.CreateOpts{Name: "conformance-" + suffix, ProjectID: project}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	cleanups = append(cleanups, func() error { return networks.Delete(ctx, c, net.ID).ExtractErr() })
	if net.ProjectID != project {
		t.Errorf("network project = %q, want %q", net.ProjectID, project)
	}
	sub4, err := subnets.Create(ctx, c, subnets.CreateOpts{NetworkID: net.ID, CIDR: "10.77.0.0/24", IPVersion: gophercloud.IPv4, ProjectID: project}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	sub6, err := subnets.Create(ctx, c, subnets.CreateOpts{NetworkID: net.ID, CIDR: "fd77::/64", IPVersion: gophercloud.IPv6, ProjectID: project}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if sub4.CIDR != "10.77.0.0/24" || sub6.CIDR != "fd77::/64" || sub4.GatewayIP != "10.77.0.1" {
		t.Errorf("subnets = %s (gw %s), %s", sub4.CIDR, sub4.GatewayIP, sub6.CIDR)
	}

	newGroup := func(name string) groups.SecGroup {
		g, err := groups.Create(ctx, c, groups.CreateOpts{Name: name + "-" + suffix, Description: "membergate conformance", ProjectID: project}).Extract()
		if err != nil {
			t.Fatal(err)
		}
		cleanups = append(cleanups, func() error { return groups.Delete(ctx, c, g.ID).ExtractErr() })
		return *g
	}
	nodes, lbGroup := newGroup("nodes"), newGroup("lb")
	// A new group comes with Neutron's two default egress rules.
	if got := ruleShapes(nodes.Rules); got != "egress IPv4 any;egress IPv6 any" {
		t.Errorf("default rules of a new group = %s", got)
	}

	wantRules := []struct {
		name string
		opts rules.CreateOpts
	}{
		{"API from the load balancer subnet", rules.CreateOpts{Direction: rules.DirIngress, EtherType: rules.EtherType4, SecGroupID: nodes.ID,
			Protocol: rules.ProtocolTCP, PortRangeMin: 6443, PortRangeMax: 6443, RemoteIPPrefix: "10.77.0.0/24", Description: "membergate", ProjectID: project}},
		{"NodePorts from the load balancer group", rules.CreateOpts{Direction: rules.DirIngress, EtherType: rules.EtherType4, SecGroupID: nodes.ID,
			Protocol: rules.ProtocolTCP, PortRangeMin: 30000, PortRangeMax: 32767, RemoteGroupID: lbGroup.ID, ProjectID: project}},
		{"API over IPv6", rules.CreateOpts{Direction: rules.DirIngress, EtherType: rules.EtherType6, SecGroupID: nodes.ID,
			Protocol: rules.ProtocolTCP, PortRangeMin: 6443, PortRangeMax: 6443, RemoteIPPrefix: "fd77::/64", ProjectID: project}},
	}
	created := map[string]*rules.SecGroupRule{}
	for _, wr := range wantRules {
		r, err := rules.Create(ctx, c, wr.opts).Extract()
		if err != nil {
			t.Fatalf("%s: %v", wr.name, err)
		}
		created[wr.name] = r
		if r.PortRangeMin != wr.opts.PortRangeMin || r.PortRangeMax != wr.opts.PortRangeMax || r.RemoteIPPrefix != wr.opts.RemoteIPPrefix ||
			r.RemoteGroupID != wr.opts.RemoteGroupID || r.EtherType != string(wr.opts.EtherType) || r.Protocol != "tcp" || r.ProjectID != project {
			t.Errorf("%s: created %+v", wr.name, r)
		}
	}

	// Listing by group and direction finds exactly the three ingress rules.
	pages, err := rules.List(c, rules.ListOpts{SecGroupID: nodes.ID, Direction: "ingress"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	listed, err := rules.ExtractRules(pages)
	if err != nil {
		t.Fatal(err)
	}
	if got := ruleShapes(listed); got != "ingress IPv4 tcp 30000-32767 from group "+lbGroup.ID+";ingress IPv4 tcp 6443-6443 from 10.77.0.0/24;ingress IPv6 tcp 6443-6443 from fd77::/64" {
		t.Errorf("ingress rules listed = %s", got)
	}

	// The same rule again is a 409 SecurityGroupRuleExists naming the rule:
	// enforcement treats it as success.
	_, err = rules.Create(ctx, c, wantRules[0].opts).Extract()
	ne, body := neutronErr(t, err, http.StatusConflict)
	wantMsg := "Security group rule already exists. Rule id is " + created[wantRules[0].name].ID + "."
	if ne.NeutronError.Type != "SecurityGroupRuleExists" || ne.NeutronError.Message != wantMsg || ne.NeutronError.Detail != "" {
		t.Errorf("duplicate rule: %s", body)
	}
	report.note("Neutron duplicate rule: HTTP 409 `%s`", strings.ReplaceAll(body, created[wantRules[0].name].ID, "<rule id>"))

	// A port on the subnet, carrying the nodes group, found by its address.
	port, err := ports.Create(ctx, c, ports.CreateOpts{NetworkID: net.ID, Name: "node-" + suffix, ProjectID: project,
		FixedIPs:       []ports.IP{{SubnetID: sub4.ID, IPAddress: "10.77.0.10"}},
		SecurityGroups: &[]string{nodes.ID}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	cleanups = append(cleanups, func() error { return ports.Delete(ctx, c, port.ID).ExtractErr() })
	pages, err = ports.List(c, ports.ListOpts{NetworkID: net.ID, FixedIPs: []ports.FixedIPOpts{{IPAddress: "10.77.0.10"}}}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found, err := ports.ExtractPorts(pages)
	if err != nil || len(found) != 1 || found[0].ID != port.ID || strings.Join(found[0].SecurityGroups, ",") != nodes.ID {
		t.Fatalf("port by fixed IP: %+v %v", found, err)
	}

	// A group in use cannot be deleted: 409 SecurityGroupInUse.
	err = groups.Delete(ctx, c, nodes.ID).ExtractErr()
	ne, body = neutronErr(t, err, http.StatusConflict)
	if ne.NeutronError.Type != "SecurityGroupInUse" {
		t.Errorf("deleting a group in use: %s", body)
	}
	report.note("Neutron group in use: HTTP 409 `%s`", strings.NewReplacer(nodes.ID, "<group id>").Replace(body))

	// Moving the port to the lb group, then removing a rule.
	if _, err := ports.Update(ctx, c, port.ID, ports.UpdateOpts{SecurityGroups: &[]string{lbGroup.ID}}).Extract(); err != nil {
		t.Fatal(err)
	}
	if err := rules.Delete(ctx, c, created[wantRules[1].name].ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	err = rules.Delete(ctx, c, created[wantRules[1].name].ID).ExtractErr()
	ne, body = neutronErr(t, err, http.StatusNotFound)
	if ne.NeutronError.Type != "SecurityGroupRuleNotFound" {
		t.Errorf("deleting a deleted rule: %s", body)
	}

	// Without project_id in the body the token's project is taken.
	g, err := groups.Create(ctx, c, groups.CreateOpts{Name: "token-project-" + suffix}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	cleanups = append(cleanups, func() error { return groups.Delete(ctx, c, g.ID).ExtractErr() })
	if g.ProjectID != project {
		t.Errorf("group created without project_id is in project %q, want the token's %q", g.ProjectID, project)
	}
}

// ruleShapes summarises rules as sorted "direction ethertype protocol
// ports from source" strings.
func ruleShapes(rs []rules.SecGroupRule) string {
	var out []string
	for _, r := range rs {
		s := r.Direction + " " + r.EtherType
		if r.Protocol == "" {
			s += " any"
		} else {
			s += fmt.Sprintf(" %s %d-%d", r.Protocol, r.PortRangeMin, r.PortRangeMax)
		}
		switch {
		case r.RemoteGroupID != "":
			s += " from group " + r.RemoteGroupID
		case r.RemoteIPPrefix != "":
			s += " from " + r.RemoteIPPrefix
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return strings.Join(out, ";")
}
