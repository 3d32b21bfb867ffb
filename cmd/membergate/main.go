// Command membergate waits on Octavia pool members and diagnoses those
// that fail their health checks.
//
//	membergate wait --loadbalancer NAME --member 10.0.0.5:6443 --for serving
//	membergate diagnose --loadbalancer NAME
//	membergate version
//	membergate completion bash|zsh|fish|powershell
//
// Run "membergate help" for the commands and "membergate wait --help" for
// the flags and exit codes.
//
// Decisions that scripts and operators rely on:
//
//   - The command line reads like kubectl's and clusterctl's (cobra and
//     pflag): --flag value and --flag=value, -h and --help on every
//     command, shell completion. The single-dash spellings of Go's flag
//     package (-loadbalancer x), which membergate parsed with before, still
//     work. The verbs only parse and print: resolving names is
//     internal/resolve's, the reports internal/waitreport's.
//   - Exit codes of wait are fixed: 0 reached, 1 other failure, 2 usage or
//     configuration, 3 member ERROR, 4 timeout, 5 not found (exitcodes.go).
//   - stdout carries the result: a summary table, or with --output json
//     exactly one JSON document and nothing else on stdout or stderr.
//     Live progress (one line per status change, not per poll) goes to
//     stdout only when it is a terminal, else to stderr, so that
//     "membergate wait ... > result" still shows progress in CI logs.
//   - All members of one wait share one memberwait.Poller: one Octavia
//     request per poll whatever their number. The lookups before the wait
//     (load balancer by name, pool by name) are retried a few times on
//     429/5xx/transport errors, as the wait itself is.
//   - Credentials follow clouds.yaml and OS_* as other OpenStack tools do;
//     an Octavia without Keystone needs an explicit auth_type none
//     (OS_AUTH_TYPE=none): an endpoint alone never silently means noauth.
//   - Interrupting a wait (SIGINT, SIGTERM) still prints the report; it
//     exits 1.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// Ctrl-C and SIGTERM end a wait through its context, so it still prints
	// where every member got to before exiting.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
