package scope

import (
	"context"
	"fmt"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/membergate/membergate/pkg/memberwait"
)

// Identity is CAPO's identityRef resolved to its Secret: the clouds.yaml,
// the cloud in it, and an optional CA bundle.
type Identity struct {
	Namespace, SecretName, CloudName, Region string
}

func (i Identity) String() string {
	return fmt.Sprintf("%s/%s (cloud %q)", i.Namespace, i.SecretName, i.CloudName)
}

// SourceFactory returns the memberwait source for an identity.
type SourceFactory interface {
	Source(ctx context.Context, id Identity) (memberwait.Source, error)
}

// NetworkClients are what the security-group pass and the member diagnosis
// use: Octavia, for the members' subnets and ports, and Neutron. Every
// request takes one token of the cloud's request budget — the one the
// gate's observations share — and fails at once with [ErrBudgetSpent] when
// none is left, so a pass never waits.
type NetworkClients struct {
	LoadBalancer, Network *gophercloud.ServiceClient
	// Cloud names the cloud (its Octavia endpoint): the request budget's
	// key.
	Cloud string
	// Key names where the clients' answers come from: the identity (its
	// Secret at one resourceVersion, the cloud, the region) and both
	// endpoints. Every cache of what they read is keyed by it: a tenant
	// chooses its endpoints (network_endpoint_override, say), so what one
	// identity's Neutron or Octavia said must never answer for another's.
	Key string
	// ProjectID is the project the identity acts in (its token's); empty
	// when the cloud does not say (auth_type none without a project).
	ProjectID string
}

// LoadBalancerFactory returns an Octavia client of an identity, for
// changes to members.
type LoadBalancerFactory interface {
	LoadBalancer(ctx context.Context, id Identity) (*gophercloud.ServiceClient, error)
}

// NetworkFactory returns the clients of an identity.
type NetworkFactory interface {
	Network(ctx context.Context, id Identity) (*NetworkClients, error)
}
