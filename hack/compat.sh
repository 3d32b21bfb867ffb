#!/usr/bin/env bash
# Proves that a CAPO fork can require memberwait without any module version
# that CAPO requires moving. For each CAPO release it builds a throwaway
# module twice: once requiring CAPO alone (the baseline build list), once
# requiring CAPO and memberwait (through a local replace) with a program that
# passes CAPO's clients.LbClient to memberwait. Any version that differs
# between the two build lists fails the check. Then it applies
# hack/capo-fork.patch (the change docs/capo-fork.md describes) to CAPO's own
# source and builds the patched load-balancer service, again checking that
# no version in CAPO's build list moves.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
mw=${MEMBERWAIT_DIR:-$root/pkg/memberwait}
versions=${CAPO_VERSIONS:-"v0.11.0 v0.12.1 v0.13.0"}
work=${COMPAT_WORKDIR:-$root/.cache/compat}
# CAPO v0.13.0's checksum is missing from the checksum database reachable here.
export GONOSUMDB=${GONOSUMDB:-sigs.k8s.io/cluster-api-provider-openstack}
export GOFLAGS=-mod=mod
mw_go=$(sed -n 's/^go \(.*\)$/\1/p' "$mw/go.mod")

fail=0
for v in $versions; do
  dir=$work/capo-$v
  rm -rf "$dir" && mkdir -p "$dir/base" "$dir/fork"
  info=$(cd "$dir/base" && go mod download -json "sigs.k8s.io/cluster-api-provider-openstack@$v")
  capo_mod=$(sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' <<<"$info")
  capo_src=$(sed -n 's/.*"Dir": "\(.*\)".*/\1/p' <<<"$info")
  capo_go=$(sed -n 's/^go \(.*\)$/\1/p' "$capo_mod")
  # A fork builds with CAPO's own replace directives. Replaces to a local
  # directory (v0.11's ./orc, a nested module that is not in CAPO's module
  # zip) point at an empty stand-in module: no package of it is built here.
  replaces=$( (grep -E '^replace [^ ]+ => ' "$capo_mod" || true) | while read -r _ from _ to ver; do
    case $to in
      ./*|../*) mkdir -p "$dir/stub/$from" && printf 'module %s\n\ngo 1.22\n' "$from" >"$dir/stub/$from/go.mod"
                echo "replace $from => $dir/stub/$from" ;;
      *) echo "replace $from => $to $ver" ;;
    esac
  done)

  # Baseline: CAPO's load-balancer client alone.
  cat >"$dir/base/go.mod" <<MOD
module example.com/capofork

go $capo_go

require sigs.k8s.io/cluster-api-provider-openstack $v

$replaces
MOD
  cat >"$dir/base/main.go" <<'GO'
package main

import "sigs.k8s.io/cluster-api-provider-openstack/pkg/clients"

var _ clients.LbClient

func main() {}
GO
  # The fork: the same, plus memberwait waiting through CAPO's client.
  cp "$dir/base/go.mod" "$dir/fork/go.mod"
  cat >>"$dir/fork/go.mod" <<MOD

require github.com/membergate/membergate/pkg/memberwait v0.0.0

replace github.com/membergate/membergate/pkg/memberwait => $mw
MOD
  cat >"$dir/fork/main.go" <<'GO'
package main

import (
	"context"
	"fmt"

	"github.com/membergate/membergate/pkg/memberwait"
	"sigs.k8s.io/cluster-api-provider-openstack/pkg/clients"
)

// waitForMember is what a fork's ReconcileLoadBalancerMember calls.
func waitForMember(ctx context.Context, lb clients.LbClient, lbID, poolID, address string, port int) error {
	_, err := memberwait.Wait(ctx, memberwait.FromLbClient(lb), lbID,
		memberwait.Selector{PoolID: poolID, Address: address, ProtocolPort: port},
		memberwait.Options{Target: memberwait.Serving})
	return err
}

func main() { fmt.Println(waitForMember != nil) }
GO
  for m in base fork; do
    (cd "$dir/$m" && go mod tidy >/dev/null && go build -o /dev/null . && go list -m all | sort >"$dir/$m.list")
  done
  # Every module of the baseline must keep its version.
  changed=$(join -j1 <(awk '{print $1, $2}' "$dir/base.list" | sort) <(awk '{print $1, $2}' "$dir/fork.list" | sort) | awk '$2 != $3')
  added=$(comm -13 <(awk '{print $1}' "$dir/base.list" | sort) <(awk '{print $1}' "$dir/fork.list" | sort) | grep -v '^github.com/membergate/' || true)
  # The fork itself: CAPO's own source with hack/capo-fork.patch (the change
  # docs/capo-fork.md describes) applied, building its load-balancer service.
  mkdir -p "$dir/capo" && cp -r "$capo_src/." "$dir/capo/" && chmod -R u+w "$dir/capo"
  (cd "$dir/capo"
    # v0.11's nested orc module is not in the module zip; same stand-in.
    grep -q '=> ./orc' go.mod && mkdir -p orc && printf 'module github.com/k-orc/openstack-resource-controller\n\ngo 1.22\n' >orc/go.mod
    go list -m all 2>/dev/null | sort >"$dir/capo-before.list"
    patch -s -p1 <"$root/hack/capo-fork.patch"
    printf '\nrequire github.com/membergate/membergate/pkg/memberwait v0.0.0\n\nreplace github.com/membergate/membergate/pkg/memberwait => %s\n' "$mw" >>go.mod
    go build ./pkg/cloud/services/loadbalancer/ && go vet ./pkg/cloud/services/loadbalancer/
    go list -m all | sort >"$dir/capo-after.list") || { echo "compat: CAPO $v: the fork patch does not build"; fail=1; continue; }
  forkchanged=$(join -j1 <(awk '{print $1, $2}' "$dir/capo-before.list") <(awk '{print $1, $2}' "$dir/capo-after.list") | awk '$2 != $3')
  changed=$(printf '%s\n%s' "$changed" "$forkchanged" | sed '/^$/d' | sort -u)
  if [ -n "$changed" ]; then
    echo "compat: CAPO $v: memberwait moves module versions:"; echo "$changed" | sed 's/^/  /'; fail=1
  elif [ -n "$added" ]; then
    echo "compat: CAPO $v: memberwait adds modules:"; echo "$added" | sed 's/^/  /'; fail=1
  else
    echo "compat: CAPO $v (go $capo_go): builds with memberwait (go $mw_go) and with the fork patch; $(wc -l <"$dir/base.list") modules, none moved"
  fi
done
exit $fail
