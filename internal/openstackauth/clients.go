package openstackauth

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/utils/v2/openstack/clientconfig"
)

// Clients are the Octavia and Neutron clients of one cloud, authenticated
// once.
type Clients struct {
	LoadBalancer *gophercloud.ServiceClient
	Network      *gophercloud.ServiceClient
}

// NewClients returns Octavia and Neutron clients for the cloud opts and the
// environment describe, with the errors of [NewLoadBalancerClient]. With
// auth_type none, Neutron's endpoint must be given (network_endpoint_override,
// $OS_NETWORK_ENDPOINT_OVERRIDE or Options.NetworkEndpointOverride) and its
// requests carry no project header: a Neutron without Keystone then runs them
// as admin, and refuses a project header without a project_id in the body.
func NewClients(ctx context.Context, opts Options) (*Clients, error) {
	s, err := resolve(opts)
	if err != nil {
		return nil, err
	}
	hc, err := s.httpClient(opts.WrapTransport)
	if err != nil {
		return nil, err
	}
	if s.noAuth() {
		lb, err := s.noAuthClient(hc, opts.UserAgent)
		if err != nil {
			return nil, err
		}
		if s.networkEndpoint == "" {
			return nil, &ConfigError{File: s.fileName(), Cloud: s.cloudName, Msg: fmt.Sprintf(
				"%s: auth_type %s needs Neutron's endpoint: set network_endpoint_override in the cloud, OS_NETWORK_ENDPOINT_OVERRIDE, or --network-endpoint", s.where, s.authType)}
		}
		pc := &gophercloud.ProviderClient{HTTPClient: *hc}
		if opts.UserAgent != "" {
			pc.UserAgent.Prepend(opts.UserAgent)
		}
		network, err := s.networkOverride(pc)
		if err != nil {
			return nil, err
		}
		return &Clients{LoadBalancer: lb, Network: network}, nil
	}
	pc, err := s.keystoneProvider(ctx, hc, opts)
	if err != nil {
		return nil, err
	}
	lb, err := s.loadBalancerFromCatalog(pc)
	if err != nil {
		return nil, err
	}
	if s.networkEndpoint != "" {
		network, err := s.networkOverride(pc)
		if err != nil {
			return nil, err
		}
		return &Clients{LoadBalancer: lb, Network: network}, nil
	}
	eo := gophercloud.EndpointOpts{Region: s.region, Availability: clientconfig.GetEndpointType(s.iface)}
	network, err := openstack.NewNetworkV2(pc, eo)
	if err != nil {
		return nil, &ConfigError{File: s.fileName(), Cloud: s.cloudName, Msg: fmt.Sprintf(
			"%s: the service catalog has no network endpoint for region %q and interface %q (%v); set region_name or interface, or give the endpoint with network_endpoint_override or --network-endpoint",
			s.where, s.region, eo.Availability, err), Err: err}
	}
	return &Clients{LoadBalancer: lb, Network: network}, nil
}

// networkOverride points a Neutron client at the endpoint override, written
// as the service root (http://neutron:9696) or with /v2.0.
func (s *settings) networkOverride(pc *gophercloud.ProviderClient) (*gophercloud.ServiceClient, error) {
	u, err := url.Parse(s.networkEndpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &ConfigError{File: s.fileName(), Cloud: s.cloudName, Msg: fmt.Sprintf("%s: network endpoint %q: want an http:// or https:// URL", s.where, s.networkEndpoint)}
	}
	u.RawQuery, u.Fragment = "", ""
	u.Path = strings.TrimSuffix(strings.TrimRight(u.Path, "/"), "/v2.0") + "/"
	return &gophercloud.ServiceClient{ProviderClient: pc, Endpoint: u.String(), ResourceBase: u.String() + "v2.0/", Type: "network"}, nil
}
