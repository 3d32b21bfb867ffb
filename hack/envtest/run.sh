#!/usr/bin/env bash
# Runs one of the test module's commands (test/cmd/<name>, e.g.
# rollout-demo) against envtest's kube-apiserver and etcd, from test/ with
# KUBEBUILDER_ASSETS set. On a fresh machine those two take minutes to
# build (hack/envtest/build.sh), so the command compiles meanwhile, at a
# lower priority: it takes the CPU the envtest build leaves idle (module
# downloads, links, the ends of its package graph) without delaying it.
# Each step prints a line with the time since this script began; the
# command itself (the demo) keeps that clock through MEMBERGATE_T0.
# Usage: hack/envtest/run.sh <name> [args...]
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=hack/envtest/progress.sh
. "$root/hack/envtest/progress.sh"
if [ $# -lt 1 ] || [ ! -d "$root/test/cmd/${1:-}" ]; then
  echo "usage: hack/envtest/run.sh <name> [args...], for a command under test/cmd/" >&2
  exit 2
fi
name=$1; shift
bin=$root/.cache/cmd/$name
assets_file=$(mktemp)
envtest=
stop() {
  # The envtest build runs in the background, where an interrupt does not
  # reach it; it stops with this script (it keeps nothing half-built).
  if [ -n "$envtest" ]; then kill "$envtest" 2>/dev/null || true; wait "$envtest" 2>/dev/null || true; fi
  rm -f "$assets_file"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$root/hack/envtest/build.sh" >"$assets_file" &
envtest=$!
start=$(now_us)
progress "$name: compiling test/cmd/$name…"
# Its output (module downloads, or errors) goes to a log, shown on failure:
# the screen keeps one line per step.
mkdir -p "$root/.cache/cmd"
if ! (cd "$root/test" && nice -n 10 go build -o "$bin" "./cmd/$name") >"$bin.log" 2>&1; then
  progress "$name: compiling failed:"
  cat "$bin.log" >&2
  exit 1
fi
progress "$name: compiled in $(since "$start")"
wait "$envtest"
envtest=
KUBEBUILDER_ASSETS=$(cat "$assets_file")
export KUBEBUILDER_ASSETS
rm -f "$assets_file"
trap - EXIT INT TERM
cd "$root/test"
exec "$bin" "$@"
