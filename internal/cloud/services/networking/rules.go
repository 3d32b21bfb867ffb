package networking

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"

	"github.com/membergate/membergate/pkg/secgroup"
)

// RuleFromNeutron converts a rule as gophercloud decodes it.
func RuleFromNeutron(r rules.SecGroupRule) secgroup.Rule {
	return secgroup.Rule{ID: r.ID, SecurityGroupID: r.SecGroupID, Direction: r.Direction, EtherType: r.EtherType, Protocol: r.Protocol,
		PortRangeMin: r.PortRangeMin, PortRangeMax: r.PortRangeMax, RemoteIPPrefix: r.RemoteIPPrefix, RemoteGroupID: r.RemoteGroupID,
		Description: r.Description}
}

// CreateRule adds r to its group and returns the new rule's ID. A rule that
// exists already (409 SecurityGroupRuleExists, from a concurrent pass or
// another tool) counts as created: existed is true and the ID is the one
// Neutron names in its answer, when it does.
func CreateRule(ctx context.Context, network *gophercloud.ServiceClient, r secgroup.Rule) (id string, existed bool, err error) {
	got, err := rules.Create(ctx, network, rules.CreateOpts{SecGroupID: r.SecurityGroupID, Direction: rules.RuleDirection(r.Direction),
		EtherType: rules.RuleEtherType(r.EtherType), Protocol: rules.RuleProtocol(r.Protocol), PortRangeMin: r.PortRangeMin,
		PortRangeMax: r.PortRangeMax, RemoteIPPrefix: r.RemoteIPPrefix, Description: r.Description}).Extract()
	switch {
	case err == nil:
		return got.ID, false, nil
	case gophercloud.ResponseCodeIs(err, http.StatusConflict) && strings.Contains(errorBody(err), "SecurityGroupRuleExists"):
		if m := existingRuleID.FindStringSubmatch(errorBody(err)); m != nil {
			id = m[1]
		}
		return id, true, nil
	default:
		return "", false, fmt.Errorf("adding %s to group %s: %w", r, r.SecurityGroupID, err)
	}
}

// existingRuleID finds the ID in Neutron's "Security group rule already
// exists. Rule id is <id>."
var existingRuleID = regexp.MustCompile(`Rule id is ([0-9a-fA-F-]+)`)

func errorBody(err error) string {
	var code gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &code) {
		return string(code.Body)
	}
	return err.Error()
}
