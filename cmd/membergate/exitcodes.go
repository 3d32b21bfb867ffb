package main

import (
	"errors"
	"fmt"

	"github.com/membergate/membergate/internal/diagnose"
	"github.com/membergate/membergate/internal/openstackauth"
	"github.com/membergate/membergate/internal/waitreport"
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

// exitCode maps an error to the documented exit code. What a wait's error
// means is waitreport's judgement, so that the JSON report's outcome and
// the exit code always agree.
func exitCode(err error) int {
	var (
		usage  *usageError
		config *openstackauth.ConfigError
		diagNF *diagnose.NotFoundError
	)
	switch {
	case err == nil:
		return exitReached
	case errors.As(err, &usage), errors.As(err, &config):
		return exitUsage
	case errors.As(err, &diagNF):
		return exitNotFound
	}
	switch waitreport.Outcome(err) {
	case waitreport.MemberError:
		return exitMemberError
	case waitreport.Timeout:
		return exitTimeout
	case waitreport.NotFound:
		return exitNotFound
	}
	return exitFailure
}
