// Command release-manifests writes a release's components file, what
// `make release-manifests` ships: config/default with the manager's image
// tagged with the release's version (manifests.Release).
//
//	go run ./manifests/cmd/release-manifests -version v0.1.0 -out ../out/membergate-components.yaml
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/membergate/membergate/test/manifests"
)

func main() {
	version := flag.String("version", "", "the release's version: the manager image's tag")
	out := flag.String("out", "", "file to write")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "-out is required")
		os.Exit(2)
	}
	y, err := manifests.Release(*version)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, y, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
