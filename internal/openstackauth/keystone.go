package openstackauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
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
		return nil, authError(err, *ao, s.where)
	}
	// A failed login after the token expired (the application credential
	// was deleted meanwhile, the password changed) says what to fix, as the
	// first login's failure does.
	reauth := pc.ReauthFunc
	pc.ReauthFunc = func(ctx context.Context) error {
		if err := reauth(ctx); err != nil {
			if ctx.Err() != nil {
				return err
			}
			return authError(err, *ao, "logging in again after the token expired, "+s.where)
		}
		return nil
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
		return nil, s.configError(err, "%s: %s", s.where, catalogMiss(pc, "load-balancer", eo,
			"give the endpoint with load_balancer_endpoint_override, OS_ENDPOINT_OVERRIDE or --endpoint"))
	}
	return sc, nil
}

// catalogMiss says why the token's catalog has no endpoint of service type
// kind for eo, from what the catalog does hold: a region it does not know
// (naming those it does), a service it lacks (naming the regions or
// interfaces it has that service in), or an interface it lacks.
func catalogMiss(pc *gophercloud.ProviderClient, kind string, eo gophercloud.EndpointOpts, override string) string {
	regions, kindRegions, kindIfaces := map[string]bool{}, map[string]bool{}, map[string]bool{}
	if res, ok := pc.GetAuthResult().(tokens.CreateResult); ok {
		if cat, err := res.ExtractServiceCatalog(); err == nil {
			for _, e := range cat.Entries {
				for _, ep := range e.Endpoints {
					r := firstSet(ep.RegionID, ep.Region)
					regions[r] = true
					if e.Type == kind {
						kindRegions[r] = true
						if eo.Region == "" || r == eo.Region {
							kindIfaces[ep.Interface] = true
						}
					}
				}
			}
		}
	}
	iface := string(eo.Availability)
	switch {
	case eo.Region != "" && len(regions) > 0 && !regions[eo.Region]:
		return fmt.Sprintf("region %q is not in the service catalog (it has %s); set region_name (or CAPO's identityRef.region) to one of them",
			eo.Region, strings.Join(sortedKeys(regions), ", "))
	case len(kindIfaces) == 0 && len(kindRegions) > 0:
		return fmt.Sprintf("the service catalog has no %s endpoint in region %q (only in %s); set region_name to one of them, or %s",
			kind, eo.Region, strings.Join(sortedKeys(kindRegions), ", "), override)
	case len(kindIfaces) == 0:
		return fmt.Sprintf("the service catalog has no %s service in region %q: register its endpoints in Keystone, or %s", kind, eo.Region, override)
	default:
		return fmt.Sprintf("the service catalog has no %s endpoint with interface %q in region %q (it has %s); set interface to one of them, or %s",
			kind, iface, eo.Region, strings.Join(sortedKeys(kindIfaces), ", "), override)
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
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
