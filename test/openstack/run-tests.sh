#!/usr/bin/env bash
# The conformance suite against the stack up.sh started: one scenario table
# against real Octavia and the emulator, memberwait end to end with faults
# injected through Octavia's database and services, and Neutron's security
# groups, and the gate's failure drills (the controller on envtest against
# real Octavia: stuck and ERROR members, worker and API down). Writes the
# findings (real timings, text differences) to
# test/openstack/.data/conformance-report.md.
#
#   run-tests.sh [go test flags...]    e.g. -run Lifecycle
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
	local t0 root rc=0
	[[ -s $OS_ENV_FILE ]] || die "no $OS_ENV_FILE: run test/openstack/up.sh (make openstack-up) first"
	stack_up_quick || die "the stack in $OS_ENV_FILE is not (fully) running: run test/openstack/up.sh again"
	root=$(cd "$OS_DIR/../.." && pwd)
	t0=$(now_ms)
	log "stack RSS before the suite: $(rss_mib) MiB"
	# -tags openstack: a stack that stops answering fails the suite instead
	# of skipping the real half. -p 1: the packages share one Octavia.
	(cd "$root/test" && CONFORMANCE_REPORT="$OS_DATA/conformance-report.md" MEMBERGATE_OPENSTACK_ENV="$OS_ENV_FILE" \
		go test -tags openstack -count=1 -p 1 -timeout 20m -v "$@" ./conformance/...) \
		>"$OS_DATA/conformance.log" 2>&1 || rc=$?
	# The verdicts, without the chatter of passing subtests.
	grep -E '^(=== RUN|--- (PASS|FAIL|SKIP)|ok |FAIL|PASS|panic)|^\s+--- (FAIL|SKIP)|_test\.go:[0-9]+' "$OS_DATA/conformance.log" |
		grep -v '^=== RUN' || true
	log "stack RSS after the suite: $(rss_mib) MiB"
	log "suite took $(since "$t0") (log: $OS_DATA/conformance.log, report: $OS_DATA/conformance-report.md)"
	# CAPO's own member code, as released and with the fork patch, against
	# this Octavia: the incident reproduced and the fix held to it.
	MEMBERGATE_OPENSTACK_ENV="$OS_ENV_FILE" CAPOREAL_REPORT="$OS_DATA/capo-report.md" "$root/test/capo/run.sh" || rc=$?
	[[ $rc == 0 ]] || die "conformance suite failed"
	log "conformance suite passed"
}

main "$@"
