package openstackauth

import (
	"context"
	"net/url"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
)

// Clients are the Octavia and Neutron clients of one cloud, authenticated
// once.
type Clients struct {
	LoadBalancer *gophercloud.ServiceClient
	Network      *gophercloud.ServiceClient
	// ProjectID is the project the clients act in: the token's, or with
	// auth_type none the configured one; empty when neither says.
	ProjectID string
}

// NewClients returns Octavia and Neutron clients for the cloud opts and the
// environment describe, with the errors of [NewLoadBalancerClient]. With
// auth_type none, Neutron's endpoint must be given (network_endpoint_override,
// $OS_NETWORK_ENDPOINT_OVERRIDE or Options.NetworkEndpointOverride) and its
// requests carry no project header: a Neutron without Keystone then runs them
// as admin, and refuses a project header without a project_id in the body.
func NewClients(ctx context.Context, opts Options) (*Clients, error) {
	return newClients(ctx, opts, true)
}

// newClients authenticates as opts and the environment say and returns the
// Octavia client, and Neutron's too when network is set.
func newClients(ctx context.Context, opts Options, network bool) (*Clients, error) {
	s, err := resolve(opts)
	if err != nil {
		return nil, err
	}
	hc, err := s.httpClient(opts)
	if err != nil {
		return nil, err
	}
	c := &Clients{}
	if s.noAuth() {
		if c.LoadBalancer, err = s.noAuthClient(hc, opts.UserAgent); err != nil {
			return nil, err
		}
		if network && s.networkEndpoint == "" {
			return nil, s.configError(nil,
				"%s: auth_type %s needs Neutron's endpoint: set network_endpoint_override in the cloud, OS_NETWORK_ENDPOINT_OVERRIDE, or --network-endpoint", s.where, s.authType)
		}
	} else {
		pc, err := s.keystoneProvider(ctx, hc, opts)
		if err != nil {
			return nil, err
		}
		if c.LoadBalancer, err = s.loadBalancerFromCatalog(pc); err != nil {
			return nil, err
		}
		c.ProjectID = tokenProject(pc)
	}
	if c.ProjectID == "" {
		c.ProjectID = s.projectID
	}
	if network {
		// The project header of auth_type none is the load-balancer client's
		// own (MoreHeaders), so Neutron's client shares the provider without it.
		if c.Network, err = s.networkClient(c.LoadBalancer.ProviderClient); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// networkClient finds Neutron in the token's catalog, unless an endpoint
// override says where it is.
func (s *settings) networkClient(pc *gophercloud.ProviderClient) (*gophercloud.ServiceClient, error) {
	if s.networkEndpoint != "" {
		return s.networkOverride(pc)
	}
	eo := s.endpointOpts()
	network, err := openstack.NewNetworkV2(pc, eo)
	if err != nil {
		return nil, s.configError(err, "%s: %s", s.where, catalogMiss(pc, "network", eo,
			"give the endpoint with network_endpoint_override or --network-endpoint"))
	}
	return network, nil
}

// networkOverride points a Neutron client at the endpoint override, written
// as the service root (http://neutron:9696) or with /v2.0.
func (s *settings) networkOverride(pc *gophercloud.ProviderClient) (*gophercloud.ServiceClient, error) {
	u, err := url.Parse(s.networkEndpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, s.configError(nil, "%s: network endpoint %q: want an http:// or https:// URL", s.where, s.networkEndpoint)
	}
	u.RawQuery, u.Fragment = "", ""
	u.Path = strings.TrimSuffix(strings.TrimRight(u.Path, "/"), "/v2.0") + "/"
	return &gophercloud.ServiceClient{ProviderClient: pc, Endpoint: u.String(), ResourceBase: u.String() + "v2.0/", Type: "network"}, nil
}
