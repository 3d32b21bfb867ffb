#!/usr/bin/env bash
# Builds the kube-apiserver and etcd binaries that envtest needs from Go
# modules (the usual download tool cannot reach its bucket here; Debian has
# no kube-apiserver and an etcd too old), and caches them under
# .cache/envtest/<versions>/ so that later runs cost nothing. Prints the
# directory to use as KUBEBUILDER_ASSETS.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
K8S_VERSION=${K8S_VERSION:-1.36.3}
ETCD_VERSION=${ETCD_VERSION:-3.6.8}
assets=$root/.cache/envtest/k8s-$K8S_VERSION-etcd-$ETCD_VERSION
if [ -x "$assets/kube-apiserver" ] && [ -x "$assets/etcd" ]; then
  echo "$assets"; exit 0
fi
mkdir -p "$assets"
work=$root/.cache/envtest/build
mkdir -p "$work/etcd" "$work/kube-apiserver"
log() { echo "envtest: $*" >&2; }

# etcd: a one-file main module around etcdmain.
if [ ! -x "$assets/etcd" ]; then
  start=$SECONDS
  cat >"$work/etcd/go.mod" <<MOD
module membergate.local/envtest/etcd

go 1.26

require go.etcd.io/etcd/server/v3 v$ETCD_VERSION
MOD
  cat >"$work/etcd/main.go" <<'GO'
// Command etcd is etcd's own main, built from its module for envtest.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  (cd "$work/etcd" && GOFLAGS=-mod=mod go mod tidy >&2 && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$assets/etcd.tmp" . ) \
    && mv "$assets/etcd.tmp" "$assets/etcd"
  log "etcd v$ETCD_VERSION built in $((SECONDS - start)) s"
fi

# kube-apiserver: k8s.io/kubernetes with every staging module it maps to
# ./staging pointed at the published v0.x.y of the same release.
if [ ! -x "$assets/kube-apiserver" ]; then
  start=$SECONDS
  kmod=$(cd "$work/kube-apiserver" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  staging=v0.${K8S_VERSION#1.}
  {
    echo "module membergate.local/envtest/kube-apiserver"
    echo
    echo "go 1.26"
    echo
    echo "require k8s.io/kubernetes v$K8S_VERSION"
    echo
    # k8s.io/sample-cli-plugin is not served by the proxy and not needed.
    grep -E '^\s*k8s.io/[a-z0-9-]+ => \./staging' "$kmod" | awk '{print $1}' | grep -v '^k8s.io/sample-cli-plugin$' \
      | sed "s|.*|replace & => & $staging|"
  } >"$work/kube-apiserver/go.mod"
  cat >"$work/kube-apiserver/main.go" <<'GO'
// Command kube-apiserver is Kubernetes' own, built from its module for envtest.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() { os.Exit(cli.Run(app.NewAPIServerCommand())) }
GO
  major=${K8S_VERSION%%.*}; minor=${K8S_VERSION#*.}; minor=${minor%%.*}
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags="$ldflags -X $pkg.gitVersion=v$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  done
  (cd "$work/kube-apiserver" && GOFLAGS=-mod=mod go mod tidy >&2 && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$assets/kube-apiserver.tmp" .) \
    && mv "$assets/kube-apiserver.tmp" "$assets/kube-apiserver"
  log "kube-apiserver v$K8S_VERSION built in $((SECONDS - start)) s"
fi
echo "$assets"
