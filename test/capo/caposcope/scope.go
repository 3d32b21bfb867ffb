// Package caposcope hands CAPO's cloud services (pkg/cloud/services/...)
// clients pointed at one Octavia, and optionally one Neutron, that need no
// Keystone: the emulator, or a test bed whose services run without
// authentication. It is how tests run CAPO's own load-balancer member code
// rather than an imitation of it.
//
// The file compiles against CAPO v0.11 to v0.13, whose scope.Scope and
// clients constructors are the same, so scripts that build CAPO's source
// of another release copy it as it is.
package caposcope

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/go-logr/logr"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/utils/v2/openstack/clientconfig"
	"sigs.k8s.io/cluster-api-provider-openstack/pkg/clients"
	"sigs.k8s.io/cluster-api-provider-openstack/pkg/scope"
)

// Scope implements CAPO's scope.Scope for the load-balancer and networking
// services. Compute, volume and image clients are refused: CAPO's member
// code does not use them.
type Scope struct {
	// OctaviaURL and NeutronURL are the services' root URLs, as a service
	// catalog would list them ("http://127.0.0.1:9876/"). A missing
	// NeutronURL makes the networking client point nowhere: CAPO's
	// loadbalancer.NewService builds one, the member code never calls it.
	OctaviaURL, NeutronURL string
	// HTTPClient carries the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Project is what ProjectID returns.
	Project string
}

var _ scope.Scope = (*Scope)(nil)

// WithLogger wraps s as CAPO's services take it.
func (s *Scope) WithLogger(l logr.Logger) *scope.WithLogger {
	return scope.NewWithLogger(s, l)
}

// providerClient resolves every endpoint through the URLs above instead of
// a Keystone catalog.
func (s *Scope) providerClient() *gophercloud.ProviderClient {
	pc := &gophercloud.ProviderClient{}
	if s.HTTPClient != nil {
		pc.HTTPClient = *s.HTTPClient
	}
	pc.EndpointLocator = func(eo gophercloud.EndpointOpts) (string, error) {
		switch eo.Type {
		case "load-balancer":
			if s.OctaviaURL == "" {
				return "", errors.New("caposcope: no Octavia URL")
			}
			return gophercloud.NormalizeURL(s.OctaviaURL), nil
		case "network":
			if s.NeutronURL == "" {
				// Never contacted by the member code; a port nobody
				// listens on makes any call fail at once.
				return "http://127.0.0.1:1/", nil
			}
			return gophercloud.NormalizeURL(s.NeutronURL), nil
		}
		return "", fmt.Errorf("caposcope: no endpoint for service type %q", eo.Type)
	}
	return pc
}

// NewLbClient returns CAPO's own load-balancer client.
func (s *Scope) NewLbClient() (clients.LbClient, error) {
	return clients.NewLbClient(s.providerClient(), &clientconfig.ClientOpts{})
}

// NewNetworkClient returns CAPO's own networking client.
func (s *Scope) NewNetworkClient() (clients.NetworkClient, error) {
	return clients.NewNetworkClient(s.providerClient(), &clientconfig.ClientOpts{})
}

// NewComputeClient is refused: see Scope.
func (s *Scope) NewComputeClient() (clients.ComputeClient, error) {
	return nil, errors.New("caposcope: no compute service")
}

// NewVolumeClient is refused: see Scope.
func (s *Scope) NewVolumeClient() (clients.VolumeClient, error) {
	return nil, errors.New("caposcope: no volume service")
}

// NewImageClient is refused: see Scope.
func (s *Scope) NewImageClient() (clients.ImageClient, error) {
	return nil, errors.New("caposcope: no image service")
}

// ProjectID returns Project.
func (s *Scope) ProjectID() string { return s.Project }

// ExtractToken is refused: there is no Keystone token.
func (s *Scope) ExtractToken() (*tokens.Token, error) {
	return nil, errors.New("caposcope: no Keystone token")
}
