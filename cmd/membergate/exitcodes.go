package main

import (
	"errors"
	"fmt"

	"github.com/membergate/membergate/internal/diagnose"
	"github.com/membergate/membergate/internal/openstackauth"
	"github.com/membergate/membergate/pkg/memberwait"
)

// Exit codes of "membergate wait", part of its interface: scripts branch on
// them, so they never change meaning.
const (
	exitReached     = 0 // every member reached the target
	exitFailure     = 1 // anything else: auth, Octavia errors retrying cannot fix, ambiguous selectors, NO_MONITOR under "fail", load balancer ERROR
	exitUsage       = 2 // bad flags, malformed clouds.yaml, unknown cloud, no credentials
	exitMemberError = 3 // a member is provisioning_status ERROR
	exitTimeout     = 4 // --timeout passed first
	exitNotFound    = 5 // the load balancer, pool or member does not exist
)

// exitCodesHelp documents the codes in usage texts.
const exitCodesHelp = `Exit codes:
  0  reached: every member at the target, all at the same poll
  1  failure: authentication, an Octavia error that retrying cannot fix, an
     ambiguous selector, NO_MONITOR under --no-monitor fail, load balancer ERROR
  2  usage: bad flags, malformed clouds.yaml, unknown cloud, no credentials
  3  member ERROR: Octavia failed to provision a member (delete and re-create it)
  4  timeout: --timeout passed before the target was reached
  5  not found: the load balancer, the pool or a member does not exist`

// usageError is a mistake on the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// lookupError reports a load balancer or pool selector that matches no
// object, or several, before any waiting starts.
type lookupError struct {
	kind     string // "load balancer" or "pool"
	selector string
	matches  []string // IDs, when more than one matched
	msg      string   // overrides the message
}

func (e *lookupError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	if len(e.matches) == 0 {
		return fmt.Sprintf("%s %q not found", e.kind, e.selector)
	}
	return fmt.Sprintf("%s name %q is ambiguous: %d match (%v); select by ID", e.kind, e.selector, len(e.matches), e.matches)
}

// exitCode maps an error to the documented exit code.
func exitCode(err error) int {
	var (
		usage    *usageError
		config   *openstackauth.ConfigError
		member   *memberwait.MemberError
		timeout  *memberwait.TimeoutError
		notFound *memberwait.NotFoundError
		lookup   *lookupError
		diagNF   *diagnose.NotFoundError
	)
	switch {
	case err == nil:
		return exitReached
	case errors.As(err, &usage), errors.As(err, &config):
		return exitUsage
	case errors.As(err, &member):
		return exitMemberError
	case errors.As(err, &timeout):
		return exitTimeout
	case errors.As(err, &notFound), errors.As(err, &diagNF):
		return exitNotFound
	case errors.As(err, &lookup):
		if len(lookup.matches) == 0 {
			return exitNotFound
		}
	}
	return exitFailure
}

// outcomeName is the "outcome" of the JSON report for an error.
func outcomeName(err error) string {
	switch exitCode(err) {
	case exitReached:
		return "reached"
	case exitMemberError:
		return "member_error"
	case exitTimeout:
		return "timeout"
	case exitNotFound:
		return "not_found"
	}
	return "failed"
}
