package manifests

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Image is the manager's image repository; a release names it with the
// release's version as its tag.
const Image = "ghcr.io/membergate/membergate-manager"

// imageTag is what a registry accepts as a tag.
var imageTag = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// Release is a release's components file: config/default built as
// `kustomize build` builds it, with the manager's image tagged version (the
// Makefile's VERSION, git describe by default). The ${VAR:=default}
// variables stay for clusterctl. A version that names no release — empty,
// "dev", "latest", or built from a tree with uncommitted changes — is
// refused: the file would name an image nobody can pull, or one that moves.
func Release(version string) ([]byte, error) {
	switch {
	case !imageTag.MatchString(version):
		return nil, fmt.Errorf("version %q is not an image tag (letters, digits, '_', '.', '-'; at most 128)", version)
	case version == "dev" || version == "latest":
		return nil, fmt.Errorf("version %q names no release: the image it tags moves", version)
	case strings.HasSuffix(version, "-dirty"):
		return nil, fmt.Errorf("version %q is of a tree with uncommitted changes: commit, tag, then release", version)
	}
	// An overlay of config/default that sets the tag, as a user's overlay
	// would (docs/install.md), in a directory of its own: kustomize loads
	// a base by a relative path only.
	dir, err := os.MkdirTemp("", "membergate-release-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	base, err := filepath.Abs(filepath.Join(Dir(), "default"))
	if err != nil {
		return nil, err
	}
	if base, err = filepath.Rel(dir, base); err != nil {
		return nil, err
	}
	kustomization := fmt.Sprintf("resources:\n- %s\nimages:\n- name: %s\n  newTag: %q\n", base, Image, version)
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kustomization), 0o600); err != nil {
		return nil, err
	}
	opts := krusty.MakeDefaultOptions()
	opts.Reorder = krusty.ReorderOptionLegacy
	res, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build of config/default for %s: %w", version, err)
	}
	return res.AsYaml()
}
