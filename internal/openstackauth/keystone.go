package openstackauth

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/utils/v2/openstack/clientconfig"
)

// keystoneProvider authenticates with Keystone.
func (s *settings) keystoneProvider(ctx context.Context, hc *http.Client, opts Options) (*gophercloud.ProviderClient, error) {
	ao, err := clientconfig.AuthOptions(s.clientOpts())
	if err != nil {
		var missing gophercloud.ErrMissingInput
		if errors.As(err, &missing) && missing.Argument == "auth_url" {
			return nil, s.noCredentials()
		}
		return nil, s.configError(err, "%s: %v", s.where, err)
	}
	if opts.ProjectID != "" && ao.ApplicationCredentialID == "" && ao.ApplicationCredentialName == "" {
		ao.Scope = &gophercloud.AuthScope{ProjectID: opts.ProjectID}
		ao.TenantID, ao.TenantName = opts.ProjectID, ""
	}
	// Long waits can outlive a token; gophercloud then authenticates again
	// with the credentials it keeps in memory, never on disk.
	ao.AllowReauth = true
	if err := validate(*ao); err != nil {
		return nil, s.configError(err, "incomplete credentials in %s: %v", s.where, err)
	}

	pc, err := openstack.NewClient(ao.IdentityEndpoint)
	if err != nil {
		return nil, s.configError(err, "%s: auth_url %q: %v", s.where, ao.IdentityEndpoint, err)
	}
	pc.HTTPClient = *hc
	if opts.UserAgent != "" {
		pc.UserAgent.Prepend(opts.UserAgent)
	}
	if err := openstack.Authenticate(ctx, pc, *ao); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, authError(err, ao.IdentityEndpoint, s.where)
	}
	return pc, nil
}

// loadBalancerFromCatalog finds Octavia in the token's catalog, unless an
// endpoint override says where it is.
func (s *settings) loadBalancerFromCatalog(pc *gophercloud.ProviderClient) (*gophercloud.ServiceClient, error) {
	if s.endpoint != "" {
		return s.serviceClient(pc)
	}
	eo := s.endpointOpts()
	sc, err := openstack.NewLoadBalancerV2(pc, eo)
	if err != nil {
		return nil, s.configError(err,
			"%s: the service catalog has no load-balancer endpoint for region %q and interface %q (%v); set region_name or interface, or give the endpoint with load_balancer_endpoint_override, OS_ENDPOINT_OVERRIDE or --endpoint",
			s.where, s.region, eo.Availability, err)
	}
	return sc, nil
}

// validate runs gophercloud's own checks of the v3 auth request before
// anything is sent, so that missing pieces (a password, a domain) are
// reported as configuration, not as a failed login.
func validate(ao gophercloud.AuthOptions) error {
	if strings.Contains(ao.IdentityEndpoint, "/v2.0") {
		return nil // Keystone v2: gophercloud checks on its own path
	}
	scope, err := ao.ToTokenV3ScopeMap()
	if err != nil {
		return err
	}
	_, err = ao.ToTokenV3CreateMap(scope)
	return err
}

// noCredentials says what to set when nothing names a cloud or a Keystone.
func (s *settings) noCredentials() error {
	if s.file != nil {
		return s.configError(nil,
			"%s has no auth.auth_url (and OS_AUTH_URL is not set); for an Octavia with auth_strategy = noauth set auth_type: none and load_balancer_endpoint_override", s.where)
	}
	return &ConfigError{Msg: "no OpenStack credentials: set OS_CLOUD (or --os-cloud) to a cloud in clouds.yaml, " +
		"or set OS_AUTH_URL with OS_USERNAME and OS_PASSWORD (or OS_APPLICATION_CREDENTIAL_ID and OS_APPLICATION_CREDENTIAL_SECRET) and OS_PROJECT_NAME; " +
		"for an Octavia with auth_strategy = noauth set OS_AUTH_TYPE=none and OS_ENDPOINT_OVERRIDE"}
}

// tokenProject is the project the provider's token is scoped to.
func tokenProject(pc *gophercloud.ProviderClient) string {
	res, ok := pc.GetAuthResult().(tokens.CreateResult)
	if !ok {
		return ""
	}
	p, err := res.ExtractProject()
	if err != nil || p == nil {
		return ""
	}
	return p.ID
}
