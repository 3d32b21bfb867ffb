package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at build time: go build -ldflags "-X main.version=v0.1.0".
var version = "dev"

// userAgent names this tool in Octavia's and Keystone's logs.
func userAgent() string { return "membergate/" + version }

func (c *cli) version(args []string) int {
	if len(args) > 0 && args[0] != "--help" && args[0] != "-h" {
		fmt.Fprintf(c.stderr, "membergate: version takes no arguments\n")
		return exitUsage
	}
	line := "membergate " + version
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				line += " (" + s.Value[:12] + ")"
			}
		}
	}
	fmt.Fprintf(c.stdout, "%s %s %s/%s\n", line, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitReached
}
