#!/usr/bin/env bash
# Runs golangci-lint (.golangci.yml) on every module. The pinned version is
# built from the Go module proxy once and cached under .cache/bin, as the
# envtest binaries are: no binary download is needed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=${GOLANGCI_LINT_VERSION:-v2.15.0}
bin=$root/.cache/bin/golangci-lint-$version
if [ ! -x "$bin" ]; then
  mkdir -p "$root/.cache/bin"
  echo "golangci-lint: building $version (once)" >&2
  tmp=$(mktemp -d)
  GOBIN=$tmp go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$version"
  mv "$tmp/golangci-lint" "$bin"
  rm -rf "$tmp"
fi
rc=0
for m in . pkg/memberwait test; do
  echo "== golangci-lint $m" >&2
  (cd "$root/$m" && "$bin" run --config "$root/.golangci.yml" ./...) || rc=1
done
exit $rc
