#!/usr/bin/env bash
# make sim: the deterministic rollout simulation (internal/sim). Plays
# ${SIM_SEEDS:-10000} seeded rollouts under faults, each with and without the
# gate, then the scripted drills, and prints the tables docs/reliability.md
# quotes. A failing seed replays with
#   go run ./internal/sim/cmd/sim -seed N -v
# Exits non-zero when the gate breaks the invariant in any seed or drill, or
# holds forever without an alert or while every other member truly serves.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seeds=${SIM_SEEDS:-10000}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/sim" ./internal/sim/cmd/sim

echo "== the gate as the controller is"
status=0
"$bin/sim" -seeds "$seeds" || status=$?

echo
echo "make sim: done in ${SECONDS}s"
exit "$status"
