package openstackauth

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
)

// noAuthClient talks to an Octavia running with auth_strategy = noauth: no
// Keystone, no token; the project comes from the X-Project-Id header, which
// Octavia needs to create objects and uses to scope what it shows.
func (s *settings) noAuthClient(hc *http.Client, userAgent string) (*gophercloud.ServiceClient, error) {
	if s.endpoint == "" {
		return nil, s.configError(nil,
			"%s: auth_type %s needs Octavia's endpoint: set load_balancer_endpoint_override in the cloud, OS_ENDPOINT_OVERRIDE, or --endpoint", s.where, s.authType)
	}
	pc := &gophercloud.ProviderClient{HTTPClient: *hc}
	if userAgent != "" {
		pc.UserAgent.Prepend(userAgent)
	}
	sc, err := s.serviceClient(pc)
	if err != nil {
		return nil, err
	}
	if s.projectID != "" {
		sc.MoreHeaders = map[string]string{"X-Project-Id": s.projectID}
	}
	return sc, nil
}

// serviceClient points a load-balancer client at the endpoint override.
func (s *settings) serviceClient(pc *gophercloud.ProviderClient) (*gophercloud.ServiceClient, error) {
	endpoint, resourceBase, err := octaviaURLs(s.endpoint)
	if err != nil {
		return nil, s.configError(err, "%s: load-balancer endpoint %q: %v", s.where, s.endpoint, err)
	}
	return &gophercloud.ServiceClient{ProviderClient: pc, Endpoint: endpoint, ResourceBase: resourceBase, Type: "load-balancer"}, nil
}

// octaviaURLs returns the service endpoint and the v2 resource base for an
// endpoint override, which operators write either as the service root
// (http://octavia:9876, what Keystone's catalog holds) or with the API
// version (…/v2 or …/v2.0).
func octaviaURLs(raw string) (endpoint, resourceBase string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", fmt.Errorf("want an http:// or https:// URL")
	}
	// A bare "?" (ForceQuery) would otherwise survive and turn the version
	// path appended below into part of the query.
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = "", false, "", ""
	path := strings.TrimRight(u.Path, "/")
	switch {
	case strings.HasSuffix(path, "/v2.0"), strings.HasSuffix(path, "/v2"):
		u.Path = path + "/"
		resourceBase = u.String()
		u.Path = path[:strings.LastIndex(path, "/")+1]
		return u.String(), resourceBase, nil
	}
	u.Path = path + "/"
	// gophercloud's NewLoadBalancerV2 uses v2.0/; Octavia serves the same
	// API under v2 and v2.0.
	return u.String(), u.String() + "v2.0/", nil
}
