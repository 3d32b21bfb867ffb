package openstackauth

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/utils/v2/openstack/clientconfig"
)

// settings are the resolved connection settings: the clouds.yaml entry, if
// any, completed from the environment and the options.
type settings struct {
	// where says, for messages, which cloud of which file, or the
	// environment, the settings came from.
	where     string
	cloudName string
	file      *cloudsFile // nil without clouds.yaml
	cloud     *clientconfig.Cloud
	authType  string
	endpoint  string
	// networkEndpoint overrides Neutron's catalog entry.
	networkEndpoint string
	projectID       string
	region          string
	iface           string
	tls             tlsSettings
	// envPrefix is the prefix of the variables clientconfig falls back to
	// for what the cloud leaves out; see isolatedEnvPrefix.
	envPrefix string
}

// isolatedEnvPrefix is the environment prefix clientconfig is given when
// the caller keeps the process environment out (Options.Getenv set): a
// prefix nobody sets, so that the manager's own OS_PASSWORD, say, can never
// fill in what a tenant's clouds.yaml leaves out. clientconfig reads the
// environment itself, past Options.Getenv.
const isolatedEnvPrefix = "MEMBERGATE_NO_ENVIRONMENT_"

// resolve reads clouds.yaml (when a cloud is named or a file given) and the
// environment into settings. Precedence follows clientconfig: values in the
// cloud entry win over OS_* variables; Options win over both.
func resolve(opts Options) (*settings, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	s := &settings{cloud: &clientconfig.Cloud{}, where: "OS_* environment variables"}
	if opts.Getenv != nil {
		s.envPrefix = isolatedEnvPrefix
	}
	name, origin := opts.Cloud, ""
	if name == "" && getenv("OS_CLOUD") != "" {
		name, origin = getenv("OS_CLOUD"), " (from OS_CLOUD)"
	}
	s.region = firstSet(opts.Region, getenv("OS_REGION_NAME"))
	if name != "" || opts.CloudsFile != "" || opts.CloudsYAML != nil {
		var f *cloudsFile
		var err error
		if opts.CloudsYAML != nil {
			f, err = parseCloudsFile(firstSet(opts.CloudsSource, "clouds.yaml"), opts.CloudsYAML)
		} else {
			f, err = loadCloudsFile(opts.CloudsFile, getenv)
		}
		if err != nil {
			var ce *ConfigError
			if name != "" && errors.As(err, &ce) && ce.File == "" {
				ce.Cloud, ce.Msg = name, fmt.Sprintf("cloud %q%s: %s", name, origin, ce.Msg)
			}
			return nil, err
		}
		if name, err = f.pick(name, origin); err != nil {
			return nil, err
		}
		s.file, s.cloudName = f, name
		s.where = fmt.Sprintf("cloud %q in %s", name, f.path)
		if r := f.clouds[name].RegionName; r != "" && opts.Region == "" {
			s.region = r
		}
		cloud, err := clientconfig.GetCloudFromYAML(s.clientOpts())
		if err != nil {
			return nil, s.configError(err, "%s: %v", s.where, err)
		}
		s.cloud = cloud
		if cloud.RegionName != "" && opts.Region == "" {
			s.region = cloud.RegionName
		}
	}

	s.authType = strings.ToLower(strings.TrimSpace(firstSet(string(s.cloud.AuthType), getenv("OS_AUTH_TYPE"))))
	s.endpoint = firstSet(opts.EndpointOverride, s.rawString("load_balancer_endpoint_override"),
		getenv("OS_LOAD_BALANCER_ENDPOINT_OVERRIDE"), getenv("OS_ENDPOINT_OVERRIDE"))
	s.networkEndpoint = firstSet(opts.NetworkEndpointOverride, s.rawString("network_endpoint_override"),
		getenv("OS_NETWORK_ENDPOINT_OVERRIDE"))
	var authProject string
	if s.cloud.AuthInfo != nil {
		authProject = s.cloud.AuthInfo.ProjectID
	}
	s.projectID = firstSet(opts.ProjectID, authProject, getenv("OS_PROJECT_ID"), getenv("OS_TENANT_ID"))
	s.iface = firstSet(s.cloud.EndpointType, getenv("OS_INTERFACE"))

	s.tls = tlsSettings{
		caCert:     firstSet(opts.CACert, s.cloud.CACertFile, getenv("OS_CACERT")),
		clientCert: firstSet(s.cloud.ClientCertFile, getenv("OS_CERT")),
		clientKey:  firstSet(s.cloud.ClientKeyFile, getenv("OS_KEY")),
	}
	switch {
	case s.cloud.Verify != nil:
		s.tls.insecure = !*s.cloud.Verify
	case s.file == nil:
		s.tls.insecure = isTrue(getenv("OS_INSECURE"))
	}
	if opts.Tenant {
		for _, f := range []struct{ name, v string }{{"cacert", s.tls.caCert}, {"cert", s.tls.clientCert}, {"key", s.tls.clientKey}} {
			if f.v != "" && !isPEM(f.v) {
				return nil, s.configError(nil, "%s: %s must be inline PEM (-----BEGIN …): a path would be read from the manager's own filesystem", s.where, f.name)
			}
		}
		if s.tls.insecure && !opts.AllowInsecure {
			return nil, s.configError(nil, "%s: verify: false is refused: the manager checks OpenStack's certificates unless it is started with --allow-insecure-openstack-tls; give the CA as cacert instead", s.where)
		}
	}
	return s, nil
}

// clientOpts are the options that make clientconfig read this cloud of
// this file, with its per-region values.
func (s *settings) clientOpts() *clientconfig.ClientOpts {
	o := &clientconfig.ClientOpts{Cloud: s.cloudName, RegionName: s.region, EnvPrefix: s.envPrefix}
	if s.file != nil {
		o.YAMLOpts = s.file
	}
	return o
}

// endpointOpts select a service in the token's catalog.
func (s *settings) endpointOpts() gophercloud.EndpointOpts {
	return gophercloud.EndpointOpts{Region: s.region, Availability: clientconfig.GetEndpointType(s.iface)}
}

// configError is a ConfigError about these settings' cloud; err, if any, is
// the underlying error.
func (s *settings) configError(err error, format string, args ...any) *ConfigError {
	return &ConfigError{File: s.fileName(), Cloud: s.cloudName, Msg: fmt.Sprintf(format, args...), Err: err}
}

// noAuth reports whether the cloud talks to Octavia without Keystone.
func (s *settings) noAuth() bool {
	return s.authType == "none" || s.authType == "noauth"
}

func (s *settings) rawString(key string) string {
	if s.file == nil {
		return ""
	}
	return s.file.rawString(s.cloudName, key)
}

func firstSet(vals ...string) string {
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

func isTrue(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}
