#!/usr/bin/env bash
# Builds the kube-apiserver and etcd binaries that envtest needs from Go
# modules (the usual download tool cannot reach its bucket here; Debian has
# no kube-apiserver and an etcd too old), and caches them under
# .cache/envtest/<versions>/ so that later runs cost nothing. Prints the
# directory to use as KUBEBUILDER_ASSETS on stdout, and nothing else there:
# callers take it with $(hack/envtest/build.sh). Progress goes to stderr,
# one line per step with the time since the run began (progress.sh).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
K8S_VERSION=${K8S_VERSION:-1.36.3}
ETCD_VERSION=${ETCD_VERSION:-3.6.8}
assets=$root/.cache/envtest/k8s-$K8S_VERSION-etcd-$ETCD_VERSION
if [ -x "$assets/kube-apiserver" ] && [ -x "$assets/etcd" ]; then
  echo "$assets"; exit 0
fi
# shellcheck source=hack/envtest/progress.sh
. "$root/hack/envtest/progress.sh"
log() { progress "envtest: $*"; }

# One main module for both binaries: k8s.io/kubernetes already requires
# the etcd server of its release (its apiserver tests embed one), so etcd
# joins kube-apiserver's module graph and one go build compiles the
# packages they share (gRPC, protobuf, OpenTelemetry, the etcd client, the
# standard library) once; two modules selected different versions of each
# and compiled them twice. The staging modules that k8s.io/kubernetes maps
# to ./staging are pointed at the published v0.x.y of the same release.
work=$root/.cache/envtest/build/k8s-$K8S_VERSION-etcd-$ETCD_VERSION
mkdir -p "$assets" "$work/cmd/etcd" "$work/cmd/kube-apiserver"
cd "$work"
# A module of its own from the first command on: the directory lies inside
# the repository, whose go.mod the go command would use otherwise.
printf 'module membergate.local/envtest\n\ngo 1.26\n' >go.mod
fail() { # fail <step> <log>: the step's own output says why.
  log "$1 failed; its output ($2):"; cat "$2" >&2; exit 1
}
# bg <command...> runs a go command in the background and waits for it, so
# that a TERM (run.sh ends this build when it ends early) stops it at once;
# a foreground child would finish first.
child='' beat=''
trap 'kill $child $beat 2>/dev/null || true' EXIT
trap 'exit 143' TERM
bg() {
  "$@" & child=$!
  local rc=0; wait "$child" || rc=$?
  child=''; return "$rc"
}

log "downloading the modules of kube-apiserver v$K8S_VERSION and etcd v$ETCD_VERSION…"
start=$(now_us)
bg go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" >download.json 2>download.log \
  || fail "downloading k8s.io/kubernetes v$K8S_VERSION" download.log
kmod=$(sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' download.json)
staging=v0.${K8S_VERSION#1.}
{
  echo "module membergate.local/envtest"
  echo
  echo "go 1.26"
  echo
  echo "require ("
  echo "	k8s.io/kubernetes v$K8S_VERSION"
  echo "	go.etcd.io/etcd/server/v3 v$ETCD_VERSION"
  echo ")"
  echo
  # k8s.io/sample-cli-plugin is not served by the proxy and not needed.
  grep -E '^\s*k8s.io/[a-z0-9-]+ => \./staging' "$kmod" | awk '{print $1}' | grep -v '^k8s.io/sample-cli-plugin$' \
    | sed "s|.*|replace & => & $staging|"
} >go.mod
rm -f go.sum
cat >cmd/etcd/main.go <<'GO'
// Command etcd is etcd's own main, built from its module for envtest.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
cat >cmd/kube-apiserver/main.go <<'GO'
// Command kube-apiserver is Kubernetes' own, built from its module for envtest.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() { os.Exit(cli.Run(app.NewAPIServerCommand())) }
GO
# Listing the packages the two commands import fetches exactly the modules
# that provide them and completes go.mod: go mod tidy would also fetch what
# their tests and other platforms need (about 60% more to download).
bg go list -mod=mod -deps ./cmd/... >packages.txt 2>>download.log \
  || fail "resolving the packages" download.log
for m in server api; do
  got=$(go list -m -f '{{.Version}}' "go.etcd.io/etcd/$m/v3")
  if [ "$got" != "v$ETCD_VERSION" ]; then
    log "kubernetes v$K8S_VERSION requires go.etcd.io/etcd/$m/v3 $got, newer than ETCD_VERSION=$ETCD_VERSION; set ETCD_VERSION=${got#v}"
    exit 1
  fi
done
log "downloaded in $(since "$start")"

total=$(wc -l <packages.txt)
log "building kube-apiserver and etcd ($total packages; the longest step)…"
start=$(now_us)
major=${K8S_VERSION%%.*}; minor=${K8S_VERSION#*.}; minor=${minor%%.*}
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags="$ldflags -X $pkg.gitVersion=v$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
done
# The go command's default settings (no -trimpath, CGO_ENABLED as the
# environment has it), as go test and go run use: the packages this build
# shares with the demo and the test binaries, the standard library first,
# then compile once. No VCS stamp: the directory lies inside the
# repository, whose commit says nothing about these binaries. -s -w: no
# symbol table or DWARF, a shorter link. -v names each package compiled
# (cached ones are not), which the line every minute counts.
rm -rf "$assets/tmp"
: >build.log
(while sleep 60; do log "building: $(grep -vc '^#' build.log) of $total packages compiled…"; done) &
beat=$!
bg go build -v -buildvcs=false -ldflags "$ldflags" -o "$assets/tmp/" ./cmd/etcd ./cmd/kube-apiserver 2>>build.log \
  || fail "building" build.log
kill "$beat"; beat=
mv "$assets/tmp/etcd" "$assets/etcd"
mv "$assets/tmp/kube-apiserver" "$assets/kube-apiserver"
rmdir "$assets/tmp"
log "built kube-apiserver v$K8S_VERSION and etcd v$ETCD_VERSION in $(since "$start"): $assets"
echo "$assets"
