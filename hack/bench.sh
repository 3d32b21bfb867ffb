#!/usr/bin/env bash
# make bench: runs memberwait and the peers' waiting strategies (CAPO, OCCM,
# Terraform, kuryr-kubernetes) through the same emulated Octavia scenarios in
# virtual time, prints one table per scenario and the targets, and writes
# docs/benchmarks.md. The Go benchmarks run first so that their per-waiter
# memory and CPU figures go into the document too; pkg/memberwait is its own
# module, so its benchmarks run from inside it.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=$(mktemp)
trap 'rm -f "$out"' EXIT

echo "== go test -bench ./internal/bench/"
go test -run '^$' -bench . -benchmem ./internal/bench/ | tee "$out"
echo "== go test -bench ./pkg/memberwait/..."
(cd pkg/memberwait && go test -run '^$' -bench . -benchmem ./...) | tee -a "$out"
echo "== benchreport"
go run ./internal/bench/cmd/benchreport -gobench "$out" -write docs/benchmarks.md
(cd test && go run ./cmd/bench-plot -out "$root/docs/img/s1-strategies.svg")
echo "make bench: done in ${SECONDS}s"
