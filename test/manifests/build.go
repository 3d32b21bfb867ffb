// Package manifests builds membergate's kustomize bases (the repository's
// config/ directory) the way a user installs them, for the tests that check
// them and apply them to a real API server. It lives in the test module so
// that kustomize never becomes a dependency of the product.
package manifests

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/cluster-api/cmd/clusterctl/client/yamlprocessor"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Dir is the repository's config/ directory, found from this source file so
// that tests in any package can build the bases.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "config")
}

// Kustomize builds a kustomization under Dir (e.g. "default") as
// `kustomize build` does, and returns the YAML stream.
func Kustomize(overlay string) ([]byte, error) {
	opts := krusty.MakeDefaultOptions()
	// The CLI's default order (namespaces and CRDs first): the same bytes as
	// `kustomize build`.
	opts.Reorder = krusty.ReorderOptionLegacy
	k := krusty.MakeKustomizer(opts)
	res, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(Dir(), overlay))
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", overlay, err)
	}
	return res.AsYaml()
}

// Substitute replaces ${VAR:=default} variables as clusterctl does when it
// installs a provider's components: from vars, or else the default. A
// variable with neither is an error, as in clusterctl.
func Substitute(yaml []byte, vars map[string]string) ([]byte, error) {
	p := yamlprocessor.NewSimpleProcessor()
	return p.Process(yaml, func(name string) (string, error) {
		if v, ok := vars[name]; ok {
			return v, nil
		}
		return "", fmt.Errorf("variable %s is not set", name)
	})
}

// Build kustomizes an overlay, substitutes variables and decodes the
// objects, in order.
func Build(overlay string, vars map[string]string) ([]*unstructured.Unstructured, error) {
	y, err := Kustomize(overlay)
	if err != nil {
		return nil, err
	}
	if y, err = Substitute(y, vars); err != nil {
		return nil, err
	}
	return Decode(y)
}

// Decode splits a YAML stream into objects, skipping empty documents.
func Decode(y []byte) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(y), 4096)
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if len(bytes.TrimSpace(raw)) == 0 || string(raw) == "null" {
			continue
		}
		// Unstructured's own JSON decoding keeps integers int64, as the
		// API machinery expects.
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(raw); err != nil {
			return nil, err
		}
		objs = append(objs, u)
	}
}
