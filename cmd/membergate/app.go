package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"k8s.io/utils/clock"
)

// run is the whole command: main only wires it to the process, so tests
// call it in-process. env looks up environment variables for flag defaults
// (OS_CLOUD); credentials in OS_* variables are read by the OpenStack
// client configuration from the process environment, as in every other
// OpenStack tool.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) string) int {
	return newCLI(stdout, stderr, env).run(ctx, args)
}

// cli carries what the commands need from outside: where to write, the
// environment and the clock. Tests replace the clock with a fake one.
type cli struct {
	stdout, stderr io.Writer
	env            func(string) string
	clock          clock.Clock
	// terminal reports whether stdout is a terminal, where live progress
	// goes; elsewhere it goes to stderr so stdout stays the result.
	terminal bool
}

func newCLI(stdout, stderr io.Writer, env func(string) string) *cli {
	if env == nil {
		env = func(string) string { return "" }
	}
	return &cli{stdout: stdout, stderr: stderr, env: env, clock: clock.RealClock{}, terminal: isTerminal(stdout)}
}

const topUsage = `membergate keeps OpenStack Octavia pool members and Cluster API rollouts in step.

Usage:
  membergate wait --loadbalancer ID|NAME (--member SELECTOR... | --all) [flags]
  membergate diagnose --loadbalancer ID|NAME [--fix] [flags]
  membergate version
  membergate help [COMMAND]

Commands:
  wait      wait until pool members are provisioned, serving or gone
  diagnose  trace why members fail their health checks (security groups) and
            add the missing rule with --fix
  version   print the version

` + exitCodesHelp + `

Run "membergate COMMAND --help" for a command's flags.
`

func (c *cli) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, topUsage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "wait":
		return c.wait(ctx, rest)
	case "diagnose":
		return c.diagnose(ctx, rest)
	case "version", "--version":
		return c.version(rest)
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 && rest[0] != "help" {
			return c.run(ctx, []string{rest[0], "--help"})
		}
		fmt.Fprint(c.stdout, topUsage)
		return exitReached
	}
	fmt.Fprintf(c.stderr, "membergate: unknown command %q\n\n%s", cmd, topUsage)
	return exitUsage
}

// fail prints an error the way every command does and returns its code.
func (c *cli) fail(err error) int {
	msg := err.Error()
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	fmt.Fprint(c.stderr, "membergate: "+msg)
	return exitCode(err)
}

// isTerminal reports whether w is a character device, as a terminal is.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
