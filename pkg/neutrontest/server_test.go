package neutrontest

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	. "github.com/onsi/gomega"
)

func TestSecurityGroupsThroughGophercloud(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	s := NewServer()
	defer s.Close()
	c := s.ServiceClient()
	_, subnets := s.AddNetwork("nodes", "10.6.0.0/24", "fd00:6::/64")
	def := s.DefaultGroup()
	port := s.AddPort("cp-0", subnets[0], "10.6.0.11", def)

	// Found by fixed IP, as diagnosis does.
	pages, err := ports.List(c, ports.ListOpts{FixedIPs: []ports.FixedIPOpts{{IPAddress: "10.6.0.11"}}}).AllPages(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	found, err := ports.ExtractPorts(pages)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(found).To(HaveLen(1))
	g.Expect(found[0].ID).To(Equal(port))
	g.Expect(found[0].SecurityGroups).To(Equal([]string{def}))

	// The default group: ingress from itself, egress anywhere.
	dg, err := groups.Get(ctx, c, def).Extract()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(dg.Rules).To(HaveLen(4))
	for _, r := range dg.Rules {
		if r.Direction == "ingress" {
			g.Expect(r.RemoteGroupID).To(Equal(def))
		}
	}

	// A rule, then the same again: 409 SecurityGroupRuleExists.
	opts := rules.CreateOpts{SecGroupID: def, Direction: rules.DirIngress, EtherType: rules.EtherType4, Protocol: rules.ProtocolTCP,
		PortRangeMin: 6443, PortRangeMax: 6443, RemoteIPPrefix: "10.6.0.0/24", Description: "membergate"}
	rule, err := rules.Create(ctx, c, opts).Extract()
	g.Expect(err).NotTo(HaveOccurred())
	_, err = rules.Create(ctx, c, opts).Extract()
	g.Expect(gophercloud.ResponseCodeIs(err, http.StatusConflict)).To(BeTrue(), "%v", err)
	g.Expect(err.Error()).To(ContainSubstring("SecurityGroupRuleExists"))
	g.Expect(err.Error()).To(ContainSubstring("Rule id is " + rule.ID))

	// Wrong ether type for the prefix.
	bad := opts
	bad.EtherType, bad.PortRangeMin, bad.PortRangeMax = rules.EtherType6, 1, 2
	_, err = rules.Create(ctx, c, bad).Extract()
	g.Expect(gophercloud.ResponseCodeIs(err, http.StatusBadRequest)).To(BeTrue(), "%v", err)

	// A group in use cannot go; an unused one can.
	g.Expect(groups.Delete(ctx, c, def).ExtractErr()).To(MatchError(ContainSubstring("SecurityGroupInUse")))
	other, err := groups.Create(ctx, c, groups.CreateOpts{Name: "other"}).Extract()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(other.Rules).To(HaveLen(2), "a new group has its two egress rules")
	g.Expect(groups.Delete(ctx, c, other.ID).ExtractErr()).To(Succeed())
	err = rules.Delete(ctx, c, rule.ID).ExtractErr()
	g.Expect(err).NotTo(HaveOccurred())
	err = rules.Delete(ctx, c, rule.ID).ExtractErr()
	g.Expect(gophercloud.ResponseCodeIs(err, http.StatusNotFound)).To(BeTrue())
	g.Expect(strings.Join(slices.Collect(maps.Keys(s.Requests())), ",")).To(ContainSubstring("POST /v2.0/security-group-rules"))
}

// An overload refuses the requests it matches, with Retry-After, and
// changes nothing; the others, and the matched ones after it is spent, go
// through.
func TestOverloadRefusesWithRetryAfter(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	s := NewServer()
	defer s.Close()
	c := s.ServiceClient()
	s.Overload("POST /v2.0/security-groups", 1, http.StatusTooManyRequests, 90*time.Second)

	_, err := groups.Create(ctx, c, groups.CreateOpts{Name: "refused"}).Extract()
	var code gophercloud.ErrUnexpectedResponseCode
	g.Expect(errors.As(err, &code)).To(BeTrue(), "got %v", err)
	g.Expect(code.Actual).To(Equal(http.StatusTooManyRequests))
	g.Expect(code.ResponseHeader.Get("Retry-After")).To(Equal("90"))
	pages, err := groups.List(c, groups.ListOpts{Name: "refused"}).AllPages(ctx)
	g.Expect(err).NotTo(HaveOccurred(), "a GET is not matched")
	got, err := groups.ExtractGroups(pages)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(BeEmpty(), "the refused request created nothing")

	_, err = groups.Create(ctx, c, groups.CreateOpts{Name: "accepted"}).Extract()
	g.Expect(err).NotTo(HaveOccurred(), "the overload is spent")
	g.Expect(s.Requests()["POST /v2.0/security-groups"]).To(Equal(2))
}
