package manifests_test

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/membergate/membergate/test/manifests"
)

// generated are the outputs of `make manifests`, relative to the module root.
var generated = []string{
	"api/v1alpha1/zz_generated.deepcopy.go",
	"config/crd/bases",
	"config/rbac/role.yaml",
	"config/webhook/manifests.yaml",
}

// TestManifestsUpToDate runs `make manifests` on a copy of the sources and
// fails if anything it writes differs from the files in the tree: a Go
// marker changed without regenerating, or generated YAML edited by hand.
func TestManifestsUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs controller-gen")
	}
	g := NewWithT(t)
	root := filepath.Dir(manifests.Dir())
	copyDir := t.TempDir()
	g.Expect(copySources(root, copyDir)).To(Succeed())
	cmd := exec.Command("make", "manifests")
	cmd.Dir = copyDir
	out, err := cmd.CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), "make manifests:\n%s", out)

	for _, p := range generated {
		want, got := files(t, filepath.Join(root, p)), files(t, filepath.Join(copyDir, p))
		g.Expect(keys(got)).To(Equal(keys(want)), "files generated under %s", p)
		for name, content := range got {
			path := p
			if filepath.Base(p) != name {
				path = filepath.Join(p, name)
			}
			g.Expect(bytes.Equal(content, want[name])).To(BeTrue(),
				"%s is not what `make manifests` writes: run it and commit the result", path)
		}
	}
}

// copySources copies what `make manifests` reads: Go sources, module files,
// the Makefile and the boilerplate header. Build caches and binaries stay.
func copySources(root, dst string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			switch rel {
			case ".git", ".cache", "bin", "test":
				return filepath.SkipDir
			}
			return nil
		}
		base := filepath.Base(path)
		if !strings.HasSuffix(base, ".go") && base != "go.mod" && base != "go.sum" && base != "Makefile" && base != "boilerplate.go.txt" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(rel)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
}

// files reads a file, or every file of a directory, by base name.
func files(t *testing.T, path string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	st, err := os.Stat(path)
	if os.IsNotExist(err) {
		return out
	}
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{path}
	if st.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			t.Fatal(err)
		}
		paths = nil
		for _, e := range entries {
			paths = append(paths, filepath.Join(path, e.Name()))
		}
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	return out
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return sortedStrings(out)
}
