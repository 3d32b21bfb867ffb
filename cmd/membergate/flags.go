package main

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/membergate/membergate/internal/resolve"
	"github.com/membergate/membergate/pkg/memberwait"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The flag values below check what they are given as it is parsed, so that
// pflag's error names the flag: invalid argument "yaml" for "--output"
// flag: want text or json. Their Type is what pflag's help shows after the
// flag's name: what the value is (--loadbalancer ID|NAME) or the values
// there are (--output text|json), rather than a Go type; those with a
// fixed set of values complete it in the shell.

// stringValue is a string flag whose help names what it holds.
type stringValue struct {
	value       *string
	placeholder string
}

func (v stringValue) String() string     { return *v.value }
func (v stringValue) Type() string       { return v.placeholder }
func (v stringValue) Set(s string) error { *v.value = s; return nil }

// stringFlag defines a string flag, empty by default, whose value is not a
// file in the current directory (an ID, a name, a URL) unless completion
// says otherwise.
func stringFlag(cmd *cobra.Command, p *string, name, placeholder, usage string) {
	cmd.Flags().Var(stringValue{p, placeholder}, name, usage)
	_ = cmd.RegisterFlagCompletionFunc(name, cobra.NoFileCompletions)
}

// choiceValue is a string flag with a fixed set of values.
type choiceValue struct {
	value   *string
	choices []string
}

func newChoice(p *string, def string, choices ...string) *choiceValue {
	*p = def
	return &choiceValue{value: p, choices: choices}
}

func (v *choiceValue) String() string { return *v.value }
func (v *choiceValue) Type() string   { return strings.Join(v.choices, "|") }

func (v *choiceValue) Set(s string) error {
	if !slices.Contains(v.choices, s) {
		return errors.New("want " + orList(v.choices))
	}
	*v.value = s
	return nil
}

// orList is "a, b or c".
func orList(xs []string) string {
	if len(xs) < 2 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " or " + xs[len(xs)-1]
}

// targetValue is --for: memberwait's targets, in memberwait's spelling.
type targetValue struct{ t *memberwait.Target }

func (v targetValue) String() string { return strings.ToLower(v.t.String()) }
func (v targetValue) Type() string   { return "provisioned|serving|gone" }

func (v targetValue) Set(s string) (err error) {
	*v.t, err = memberwait.ParseTarget(s)
	return err
}

// noMonitorValue is --no-monitor: memberwait's NO_MONITOR policies.
type noMonitorValue struct{ p *memberwait.NoMonitorPolicy }

func (v noMonitorValue) String() string { return strings.ToLower(v.p.String()) }
func (v noMonitorValue) Type() string   { return "fail|serving|wait" }

func (v noMonitorValue) Set(s string) (err error) {
	*v.p, err = memberwait.ParseNoMonitorPolicy(s)
	return err
}

// durationValue is a duration that must not be negative: every duration
// flag of membergate is a length of time to wait, where 0 means none.
type durationValue struct{ d *time.Duration }

func (v durationValue) String() string { return v.d.String() }
func (v durationValue) Type() string   { return "duration" }

func (v durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return err
	case d < 0:
		return errors.New("must not be negative")
	}
	*v.d = d
	return nil
}

// membersValue is --member, repeatable: each selector parsed as it comes,
// a selector given twice kept once.
type membersValue struct{ members *[]memberwait.Selector }

func (v membersValue) String() string {
	s := make([]string, len(*v.members))
	for i, m := range *v.members {
		s[i] = strings.TrimPrefix(m.String(), "member ")
	}
	return strings.Join(s, ",")
}

func (v membersValue) Type() string { return "SELECTOR" }

func (v membersValue) Set(s string) error {
	m, err := resolve.ParseMember(s)
	if err != nil {
		return err
	}
	if !slices.Contains(*v.members, m) {
		*v.members = append(*v.members, m)
	}
	return nil
}

// enumFlag defines a flag whose values are fixed, and completes them.
func enumFlag(cmd *cobra.Command, v pflag.Value, name, usage string) {
	cmd.Flags().Var(v, name, usage)
	choices := strings.Split(v.Type(), "|")
	_ = cmd.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(choices, cobra.ShellCompDirectiveNoFileComp))
}

// durationFlag defines a non-negative duration flag.
func durationFlag(cmd *cobra.Command, p *time.Duration, name string, def time.Duration, usage string) {
	*p = def
	cmd.Flags().Var(durationValue{p}, name, usage)
	_ = cmd.RegisterFlagCompletionFunc(name, cobra.NoFileCompletions)
}
