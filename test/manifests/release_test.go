package manifests_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/membergate/membergate/test/manifests"
)

// images are the container images objs name, in Pod templates.
func images(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, o := range objs {
		for _, path := range [][]string{{"spec", "template", "spec", "containers"}, {"spec", "template", "spec", "initContainers"}} {
			cs, _, _ := unstructured.NestedSlice(o.Object, path...)
			for _, c := range cs {
				out = append(out, c.(map[string]any)["image"].(string))
			}
		}
	}
	return out
}

// TestReleaseManifests: the components file of release v0.3.1 names the
// manager's image tagged v0.3.1 and no other, no :dev and no :latest; it
// is config/default otherwise. A version that names no release is refused.
func TestReleaseManifests(t *testing.T) {
	g := NewWithT(t)
	y, err := manifests.Release("v0.3.1")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(y)).NotTo(ContainSubstring(":dev"))
	g.Expect(string(y)).NotTo(ContainSubstring(":latest"))
	sub, err := manifests.Substitute(y, nil)
	g.Expect(err).NotTo(HaveOccurred(), "clusterctl substitutes it with the defaults")
	objs, err := manifests.Decode(sub)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(images(objs)).To(ConsistOf(manifests.Image + ":v0.3.1"))
	g.Expect(objs).To(HaveLen(len(built(t))))

	for version, want := range map[string]string{
		"":              "not an image tag",
		"v0.3.1 ":       "not an image tag",
		"dev":           "names no release",
		"latest":        "names no release",
		"9d04e19-dirty": "uncommitted changes",
	} {
		_, err := manifests.Release(version)
		g.Expect(err).To(MatchError(ContainSubstring(want)), "version %q", version)
	}
}

// TestConfigNamesAReleasedImage: config/default, as committed, names the
// manager's image by a release's version — never :dev or :latest — of a
// release series metadata.yaml declares.
func TestConfigNamesAReleasedImage(t *testing.T) {
	g := NewWithT(t)
	imgs := images(built(t))
	g.Expect(imgs).To(HaveLen(1))
	m := regexp.MustCompile(`^` + regexp.QuoteMeta(manifests.Image) + `:v(\d+)\.(\d+)\.\d+$`).FindStringSubmatch(imgs[0])
	g.Expect(m).NotTo(BeNil(), "%s is not tagged with a release's version", imgs[0])
	meta, err := os.ReadFile(filepath.Join(manifests.Dir(), "..", "metadata.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(meta)).To(MatchRegexp(`(?m)^- major: %s\n  minor: %s\n`, m[1], m[2]), "metadata.yaml has no release series %s.%s", m[1], m[2])
}

// TestDockerfile: the build stage verifies the module cache against go.sum
// (go mod verify) before it builds, and the image carries the OCI labels
// from build arguments.
func TestDockerfile(t *testing.T) {
	g := NewWithT(t)
	data, err := os.ReadFile(filepath.Join(manifests.Dir(), "..", "Dockerfile"))
	g.Expect(err).NotTo(HaveOccurred())
	// Instructions, with continuation lines joined and comments dropped.
	var instrs []string
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if rest, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(rest + " ")
			continue
		}
		cur.WriteString(line)
		instrs = append(instrs, cur.String())
		cur.Reset()
	}
	stage, verify, build := 0, -1, -1
	var verifyStage, buildStage int
	labels := map[string]string{}
	args := map[string]bool{}
	for i, in := range instrs {
		fields := strings.Fields(in)
		switch strings.ToUpper(fields[0]) {
		case "FROM":
			stage++
		case "ARG":
			args[strings.SplitN(fields[1], "=", 2)[0]] = true
		case "RUN":
			if strings.Contains(in, "go mod verify") && verify < 0 {
				verify, verifyStage = i, stage
			}
			if strings.Contains(in, "go build") && build < 0 {
				build, buildStage = i, stage
			}
		case "LABEL":
			for _, kv := range regexp.MustCompile(`(\S+)="([^"]*)"`).FindAllStringSubmatch(in, -1) {
				labels[kv[1]] = kv[2]
			}
		}
	}
	g.Expect(verify).To(BeNumerically(">=", 0), "no go mod verify")
	g.Expect(build).To(BeNumerically(">", verify), "go mod verify must come before go build")
	g.Expect(verifyStage).To(Equal(buildStage), "go mod verify in the build stage")
	for _, l := range []string{"version", "source", "revision", "licenses", "title"} {
		key := "org.opencontainers.image." + l
		g.Expect(labels).To(HaveKey(key))
		if v := labels[key]; strings.HasPrefix(v, "${") {
			g.Expect(args).To(HaveKey(strings.Trim(v, "${}")), "%s from an undeclared build argument", key)
		}
	}
	g.Expect(labels["org.opencontainers.image.version"]).To(HavePrefix("${"), "the version comes from a build argument")
	g.Expect(labels["org.opencontainers.image.revision"]).To(HavePrefix("${"), "the revision comes from a build argument")
}
