package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// cmdFlags is a flag set that remembers the order of its flags and the
// placeholder of each value, for usage texts that read like the usage line.
type cmdFlags struct {
	*flag.FlagSet
	order   []string
	metavar map[string]string
}

// newFlags returns a flag set that reports errors instead of exiting and
// prints nothing by itself: the commands print usage where it belongs.
func newFlags(name string) *cmdFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &cmdFlags{FlagSet: fs, metavar: map[string]string{}}
}

func (f *cmdFlags) add(name, metavar string) {
	f.order = append(f.order, name)
	f.metavar[name] = metavar
}

func (f *cmdFlags) str(p *string, name, metavar, def, usage string) {
	f.StringVar(p, name, def, usage)
	f.add(name, metavar)
}

func (f *cmdFlags) list(p *stringList, name, metavar, usage string) {
	f.Var(p, name, usage)
	f.add(name, metavar)
}

func (f *cmdFlags) boolean(p *bool, name, usage string) {
	f.BoolVar(p, name, false, usage)
	f.add(name, "")
}

func (f *cmdFlags) duration(p *time.Duration, name string, def time.Duration, usage string) {
	f.DurationVar(p, name, def, usage)
	f.add(name, "DURATION")
}


// parse parses args; help is true for -h/--help. Errors are usage errors
// that name the offending flag.
func (f *cmdFlags) parse(args []string) (help bool, err error) {
	if err := f.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return true, nil
		}
		return false, usagef("%s: %v", f.Name(), err)
	}
	if f.NArg() > 0 {
		return false, usagef("%s: unexpected argument %q (flags only; repeat --member for several members)", f.Name(), f.Arg(0))
	}
	return false, nil
}

// print lists the flags in the order they were defined.
func (f *cmdFlags) print(w io.Writer) {
	for _, name := range f.order {
		fl := f.Lookup(name)
		line := "  --" + name
		if mv := f.metavar[name]; mv != "" {
			line += " " + mv
		}
		usage := strings.ReplaceAll(fl.Usage, "\n", "\n        ")
		if def := fl.DefValue; def != "" && def != "false" && def != "[]" && def != "0" && def != "0s" && !strings.Contains(usage, "(default") {
			usage += " (default " + def + ")"
		}
		fmt.Fprintf(w, "%s\n        %s\n", line, usage)
	}
}
