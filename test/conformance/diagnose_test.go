package conformance

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"

	"github.com/membergate/membergate/internal/diagnose"
)

// TestDiagnoseDefaultGroupOnRealStack reproduces, on real Neutron and
// Octavia, the case operators trace by hand: a node's port on the project's
// default group (which admits only its own members), its member ERROR; the
// diagnosis names the group and the missing rule, and the fix adds exactly
// that rule.
func TestDiagnoseDefaultGroupOnRealStack(t *testing.T) {
	s := realStack(t)
	b := newOctaviaBackend(t)
	nc, oc := s.neutron(t), s.octavia(t)
	project := s.get("OS_PROJECT_ID")
	suffix := fmt.Sprint(time.Now().UnixNano())

	net, err := networks.Create(ctx, nc, networks.CreateOpts{Name: "diagnose-" + suffix, ProjectID: project}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = networks.Delete(ctx, nc, net.ID).ExtractErr() })
	sub, err := subnets.Create(ctx, nc, subnets.CreateOpts{NetworkID: net.ID, CIDR: "10.78.0.0/24", IPVersion: gophercloud.IPv4, ProjectID: project}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	// A port created without groups gets the project's default group, as a
	// node created without managed security groups does (CAPO #694).
	port, err := ports.Create(ctx, nc, ports.CreateOpts{NetworkID: net.ID, Name: "cp-0-" + suffix, ProjectID: project,
		FixedIPs: []ports.IP{{SubnetID: sub.ID, IPAddress: "10.78.0.11"}}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ports.Delete(ctx, nc, port.ID).ExtractErr() })
	if len(port.SecurityGroups) != 1 {
		t.Fatalf("port groups %v, want the project's default group", port.SecurityGroups)
	}
	def, err := groups.Get(ctx, nc, port.SecurityGroups[0]).Extract()
	if err != nil || def.Name != "default" {
		t.Fatalf("group %+v (%v), want the project's default", def, err)
	}
	rulesBefore := len(def.Rules)

	lbID, poolID := buildTreeOn(t, b, sub.ID, true)
	m, err := pools.CreateMember(ctx, oc, poolID, pools.CreateMemberOpts{Name: "cp-0", Address: "10.78.0.11", ProtocolPort: 6443, SubnetID: sub.ID}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	waitActive(t, b, lbID, "member cp-0")
	waitActive(t, b, lbID, "lb")
	// What the health manager reports once the dropped checks fail.
	b.setMemberStatus(t, m.ID, "", "ERROR")

	trace, err := diagnose.Run(ctx, oc, nc, "", lbID)
	if err != nil {
		t.Fatal(err)
	}
	if len(trace.Rows) != 1 {
		t.Fatalf("%d rows", len(trace.Rows))
	}
	row := trace.Rows[0]
	if !row.Failing || row.Verdict != diagnose.MissingRule || row.PortID != port.ID || row.Source != "10.78.0.0/24" {
		t.Fatalf("row %+v", row)
	}
	if row.Fix == nil || row.Fix.SecurityGroupID != def.ID || row.Fix.String() != "ingress tcp port 6443 from 10.78.0.0/24" {
		t.Fatalf("fix %+v, want the subnet rule on the default group %s", row.Fix, def.ID)
	}
	t.Logf("verdict: %s; fix: add to group %s (%s): %s", row.Verdict, def.ID, def.Name, row.Fix)

	applied, err := diagnose.Fix(ctx, nc, trace)
	if err != nil || len(applied) != 1 || applied[0].Existed {
		t.Fatalf("fix: %v %+v", err, applied)
	}
	after, err := groups.Get(ctx, nc, def.ID).Extract()
	if err != nil || len(after.Rules) != rulesBefore+1 {
		t.Fatalf("default group has %d rules after the fix, want %d (%v)", len(after.Rules), rulesBefore+1, err)
	}
	var added string
	for _, r := range after.Rules {
		if r.RemoteIPPrefix == "10.78.0.0/24" {
			added = r.ID
			if r.Direction != "ingress" || r.Protocol != "tcp" || r.PortRangeMin != 6443 || r.PortRangeMax != 6443 || r.EtherType != "IPv4" {
				t.Fatalf("added rule %+v", r)
			}
		}
	}
	t.Cleanup(func() {
		if err := deleteRule(nc, added); err != nil && !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			t.Errorf("clean-up: %v", err)
		}
	})
	// A second fix finds it there (409 SecurityGroupRuleExists): done.
	again, err := diagnose.Fix(ctx, nc, trace)
	if err != nil || len(again) != 1 || !again[0].Existed {
		t.Fatalf("second fix: %v %+v", err, again)
	}
	trace, err = diagnose.Run(ctx, oc, nc, "", lbID)
	if err != nil || trace.Rows[0].Verdict != diagnose.Admitted {
		t.Fatalf("after the fix: %v %+v", err, trace.Rows)
	}
}

func deleteRule(c *gophercloud.ServiceClient, id string) error {
	if id == "" {
		return nil
	}
	return rules.Delete(ctx, c, id).ExtractErr()
}
