package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
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
	// argv0 is the name the binary was run by (see pluginName).
	argv0 string
}

func newCLI(stdout, stderr io.Writer, env func(string) string) *cli {
	if env == nil {
		env = func(string) string { return "" }
	}
	return &cli{stdout: stdout, stderr: stderr, env: env, clock: clock.RealClock{}, terminal: isTerminal(stdout), argv0: os.Args[0]}
}

// exitStatus ends a command that has already said all there is to say
// (a JSON report, diagnose's table of missing rules) with a code.
type exitStatus int

func (e exitStatus) Error() string { return "exit status " + strconv.Itoa(int(e)) }

// runError is an error from running a command, as opposed to one cobra
// raised about the command line (an unknown command or flag, a missing
// flag value), which is a usage error.
type runError struct{ err error }

func (e *runError) Error() string { return e.err.Error() }
func (e *runError) Unwrap() error { return e.err }

// runE adapts a command's function to cobra, marking its errors.
func runE(f func(cmd *cobra.Command) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		if err := f(cmd); err != nil {
			return &runError{err}
		}
		return nil
	}
}

// noArgs rejects positional arguments, saying what to do instead.
func noArgs(hint string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		return usagef("%s: unexpected argument %q (%s)", cmd.Name(), args[0], hint)
	}
}

// run executes one command line. Errors are printed here, once, the same
// way for every command: "membergate: " and the message on stderr, and for
// a mistake on the command line a pointer to the command's help.
func (c *cli) run(ctx context.Context, args []string) int {
	root := c.newRoot()
	if len(args) == 0 {
		// No command is a mistake, not a request for help: the usage goes
		// to stderr and the exit code says so.
		root.InitDefaultHelpCmd()
		root.InitDefaultCompletionCmd()
		fmt.Fprint(c.stderr, root.UsageString())
		return exitUsage
	}
	root.SetArgs(goFlagSpelling(root, args))
	cmd, err := root.ExecuteContextC(ctx)
	var (
		status exitStatus
		failed *runError
		usage  *usageError
	)
	switch {
	case err == nil:
		return exitReached
	case errors.As(err, &status):
		return int(status)
	case !errors.As(err, &failed):
		err = &usageError{msg: err.Error()} // cobra's own: about the command line
	}
	fmt.Fprintln(c.stderr, "membergate: "+strings.TrimSuffix(err.Error(), "\n"))
	if errors.As(err, &usage) {
		fmt.Fprintf(c.stderr, "Run %q for usage.\n", cmd.CommandPath()+" --help")
	}
	return exitCode(err)
}

func (c *cli) newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "membergate",
		Short: "Keep OpenStack Octavia pool members and Cluster API rollouts in step",
		Long: `membergate keeps OpenStack Octavia pool members and Cluster API rollouts in step:
"membergate wait" waits until pool members are provisioned, serving or gone,
judging each by its own statuses, not its load balancer's; "membergate
diagnose" traces why members fail their health checks.`,
		Version:       versionLine(),
		SilenceErrors: true, // run prints them
		SilenceUsage:  true, // an error is not a reason to print a screenful of flags
		Annotations:   map[string]string{annotationExitCodes: exitCodesHelp, cobra.CommandDisplayNameAnnotation: pluginName(c.argv0)},
	}
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetUsageTemplate(strings.TrimSuffix(root.UsageTemplate(), "\n") + exitCodesTemplate)
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(c.newWaitCmd(), c.newDiagnoseCmd(), c.newStatusCmd(), c.newVersionCmd())
	return root
}

// annotationExitCodes holds the "Exit codes:" section that the usage
// template prints after the flags, where a reader of --help looks last.
const annotationExitCodes = "membergate.io/exit-codes"

const exitCodesTemplate = `{{with index .Annotations "` + annotationExitCodes + `"}}

{{.}}{{end}}
`

// flagError makes a flag that does not parse a usage error (exit 2) that
// names the command, as the checks after parsing do.
func flagError(cmd *cobra.Command, err error) error {
	if !cmd.HasParent() {
		return usagef("%v", err)
	}
	return usagef("%s: %v", cmd.Name(), err)
}

// goFlagSpelling rewrites -name and -name=value to --name: membergate
// parsed its flags with Go's flag package, which accepts one dash, before it
// used pflag, which reads -name as the shorthands n, a, m, e. Only the long
// flags of the command named first (of membergate itself when none is) and
// -help are rewritten, never a flag's value, and nothing after "--".
func goFlagSpelling(root *cobra.Command, args []string) []string {
	out := append([]string{}, args...) // never nil: cobra would read os.Args
	cmd, first := root, 0
	for _, sub := range root.Commands() {
		if len(args) > 0 && sub.Name() == args[0] {
			cmd, first = sub, 1
		}
	}
	fs := cmd.Flags()
	for i := first; i < len(out); i++ {
		a := out[i]
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") {
			continue
		}
		if !strings.HasPrefix(a, "--") && len(a) > 2 {
			if name, _, _ := strings.Cut(a[1:], "="); name == "help" || fs.Lookup(name) != nil {
				a = "-" + a
				out[i] = a
			}
		}
		// Skip the value of a flag that takes one, whatever it looks like.
		if name, ok := strings.CutPrefix(a, "--"); ok && !strings.Contains(name, "=") {
			if f := fs.Lookup(name); f != nil && f.NoOptDefVal == "" {
				i++
			}
		}
	}
	return out
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
