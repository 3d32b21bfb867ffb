package openstackauth

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/gophercloud/utils/v2/openstack/clientconfig"
	"gopkg.in/yaml.v3"
)

// cloudsFile is one parsed clouds.yaml. It is also the YAMLOptsBuilder
// handed to clientconfig, so that clientconfig merges secure.yaml,
// clouds-public.yaml profiles and per-region values into the entries of
// this very file rather than searching for clouds.yaml again.
type cloudsFile struct {
	path   string
	clouds map[string]clientconfig.Cloud
	// raw holds each cloud's mapping as written, for keys clientconfig's
	// Cloud struct does not have (load_balancer_endpoint_override).
	raw map[string]map[string]any
}

var _ clientconfig.YAMLOptsBuilder = (*cloudsFile)(nil)

// searchedPaths lists, for messages, where clientconfig looks for clouds.yaml.
const searchedPaths = "$OS_CLIENT_CONFIG_FILE, ./clouds.yaml, ~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml"

// loadCloudsFile reads and parses the clouds.yaml at explicit, or the one
// clientconfig's search order finds.
func loadCloudsFile(explicit string, getenv func(string) string) (*cloudsFile, error) {
	var (
		path    string
		content []byte
		err     error
	)
	switch {
	case explicit != "":
		path = explicit
		content, err = os.ReadFile(explicit)
		if err != nil {
			return nil, &ConfigError{File: path, Msg: fmt.Sprintf("cannot read clouds.yaml %s: %v", path, unwrapPathError(err)), Err: err}
		}
	default:
		// clientconfig silently skips an OS_CLIENT_CONFIG_FILE that does not
		// exist and goes on searching; an operator who set it means it.
		if v := getenv("OS_CLIENT_CONFIG_FILE"); v != "" {
			if _, serr := os.Stat(v); serr != nil {
				return nil, &ConfigError{File: v, Msg: fmt.Sprintf("cannot read clouds.yaml %s (from OS_CLIENT_CONFIG_FILE): %v", v, unwrapPathError(serr)), Err: serr}
			}
		}
		path, content, err = clientconfig.FindAndReadCloudsYAML()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == "" {
				return nil, &ConfigError{Msg: "no clouds.yaml found (looked at " + searchedPaths + "); give one with --os-config-file or OS_CLIENT_CONFIG_FILE", Err: err}
			}
			return nil, &ConfigError{File: path, Msg: fmt.Sprintf("cannot read clouds.yaml %s: %v", path, unwrapPathError(err)), Err: err}
		}
	}
	return parseCloudsFile(path, content)
}

// parseCloudsFile parses clouds.yaml content read from path.
func parseCloudsFile(path string, content []byte) (*cloudsFile, error) {
	var typed clientconfig.Clouds
	if err := yaml.Unmarshal(content, &typed); err != nil {
		return nil, &ConfigError{File: path, Msg: fmt.Sprintf("malformed clouds.yaml %s: %v", path, err), Err: err}
	}
	var raw struct {
		Clouds map[string]map[string]any `yaml:"clouds"`
	}
	// The typed parse succeeded, so this one can only fail on shapes the
	// extra keys do not need; ignore it then.
	_ = yaml.Unmarshal(content, &raw)
	return &cloudsFile{path: path, clouds: typed.Clouds, raw: raw.Clouds}, nil
}

// names returns the cloud names, sorted.
func (f *cloudsFile) names() []string {
	names := make([]string, 0, len(f.clouds))
	for n := range f.clouds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// pick chooses the cloud: name, or the only one when name is empty.
// origin says where the name came from, for messages.
func (f *cloudsFile) pick(name, origin string) (string, error) {
	names := f.names()
	if name == "" {
		switch len(names) {
		case 1:
			return names[0], nil
		case 0:
			return "", &ConfigError{File: f.path, Msg: fmt.Sprintf("clouds.yaml %s defines no clouds (a top-level \"clouds:\" mapping is expected)", f.path)}
		}
		return "", &ConfigError{File: f.path, Msg: fmt.Sprintf("clouds.yaml %s defines %d clouds (%s): choose one with --os-cloud or OS_CLOUD", f.path, len(names), strings.Join(names, ", "))}
	}
	if _, ok := f.clouds[name]; ok {
		return name, nil
	}
	msg := fmt.Sprintf("cloud %q%s not found in %s", name, origin, f.path)
	if len(names) == 0 {
		msg += ", which defines no clouds (a top-level \"clouds:\" mapping is expected)"
	} else {
		msg += "; clouds found: " + strings.Join(names, ", ")
	}
	return "", &ConfigError{File: f.path, Cloud: name, Msg: msg}
}

// rawString returns a cloud's top-level string value for key.
func (f *cloudsFile) rawString(cloud, key string) string {
	if v, ok := f.raw[cloud][key].(string); ok {
		return strings.TrimSpace(v)
	}
	return ""
}

// LoadCloudsYAML returns this file's clouds.
func (f *cloudsFile) LoadCloudsYAML() (map[string]clientconfig.Cloud, error) {
	return f.clouds, nil
}

// LoadSecureCloudsYAML finds and parses secure.yaml, naming the file in
// errors (clientconfig's own loader does not).
func (f *cloudsFile) LoadSecureCloudsYAML() (map[string]clientconfig.Cloud, error) {
	path, content, err := clientconfig.FindAndReadSecureCloudsYAML()
	return parseOptional(path, content, err, "secure.yaml", func(b []byte) (map[string]clientconfig.Cloud, error) {
		var c clientconfig.Clouds
		err := yaml.Unmarshal(b, &c)
		return c.Clouds, err
	})
}

// LoadPublicCloudsYAML finds and parses clouds-public.yaml, naming the file
// in errors.
func (f *cloudsFile) LoadPublicCloudsYAML() (map[string]clientconfig.Cloud, error) {
	path, content, err := clientconfig.FindAndReadPublicCloudsYAML()
	return parseOptional(path, content, err, "clouds-public.yaml", func(b []byte) (map[string]clientconfig.Cloud, error) {
		var c clientconfig.PublicClouds
		err := yaml.Unmarshal(b, &c)
		return c.Clouds, err
	})
}

func parseOptional(path string, content []byte, err error, what string, parse func([]byte) (map[string]clientconfig.Cloud, error)) (map[string]clientconfig.Cloud, error) {
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil // optional
		}
		return nil, fmt.Errorf("cannot read %s %s: %w", what, path, err)
	}
	clouds, err := parse(content)
	if err != nil {
		return nil, fmt.Errorf("malformed %s %s: %w", what, path, err)
	}
	return clouds, nil
}

// unwrapPathError drops the "open <path>:" prefix our messages already carry.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
