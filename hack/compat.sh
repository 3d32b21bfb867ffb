#!/usr/bin/env bash
# Proves, for each CAPO release, that the CAPO fork (hack/capo-fork/<release>.patch,
# the change docs/capo-fork.md describes) is sound on CAPO's own source:
#   1. unpatched, CAPO's own tests of the load-balancer service and the API
#      pass here, so that a failure after patching is the patch's (the
#      controllers' suite is not run unpatched: compiling it costs minutes
#      per release on a cold cache, and it is CAPO's own CI that keeps it
#      green);
#   2. patched and requiring memberwait, those packages pass the same tests
#      plus the patch's own (Test_ReconcileLoadBalancerMember,
#      Test_DeleteLoadBalancerMember), with go test's own vet checks (a full
#      go vet analyses every dependency too: 76-96 s more per release on a
#      cold build cache);
#   3. no module version in CAPO's build list moves, and no module but
#      memberwait is added;
#   4. a benchmark (hack/capo-fork/testdata/member_bench_test.go, copied into
#      both trees) prints what one ReconcileLoadBalancerMember costs,
#      unpatched and patched, in time and in Octavia requests.
# Each step prints its duration.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
mw=${MEMBERWAIT_DIR:-$root/pkg/memberwait}
versions=${CAPO_VERSIONS:-"v0.11.0 v0.12.1 v0.13.0"}
work=${COMPAT_WORKDIR:-$root/.cache/compat}
# CAPO v0.13.0's checksum is missing from the checksum database reachable here.
export GONOSUMDB=${GONOSUMDB:-sigs.k8s.io/cluster-api-provider-openstack}
export GOFLAGS=-mod=mod
mw_go=$(sed -n 's/^go \(.*\)$/\1/p' "$mw/go.mod")
bench=$root/hack/capo-fork/testdata/member_bench_test.go
lbpkg=./pkg/cloud/services/loadbalancer

# CAPO's controller suite runs on envtest. KUBEBUILDER_ASSETS, when set,
# names the kube-apiserver and etcd; otherwise the project's own build
# (hack/envtest/build.sh, cached under .cache/envtest) provides them.
if [ -z "${KUBEBUILDER_ASSETS:-}" ]; then
  KUBEBUILDER_ASSETS=$("$root/hack/envtest/build.sh")
fi
export KUBEBUILDER_ASSETS

step() { # step NAME COMMAND...: runs COMMAND, prints how long it took.
  local name=$1 start=$SECONDS; shift
  if "$@" >"$log" 2>&1; then
    echo "  $name: ok ($((SECONDS - start)) s)"
  else
    echo "  $name: FAILED ($((SECONDS - start)) s); last lines:"; tail -40 "$log" | sed 's/^/    /'
    return 1
  fi
}

total=$SECONDS
fail=0
for v in $versions; do
  echo "compat: CAPO $v"
  dir=$work/capo-$v
  log=$dir/step.log
  rm -rf "$dir" && mkdir -p "$dir"
  patchfile=$root/hack/capo-fork/$v.patch
  [ -f "$patchfile" ] || { echo "  no $patchfile"; fail=1; continue; }
  info=$(cd "$dir" && go mod download -json "sigs.k8s.io/cluster-api-provider-openstack@$v")
  capo_src=$(sed -n 's/.*"Dir": "\(.*\)".*/\1/p' <<<"$info")
  mkdir -p "$dir/capo" && cp -r "$capo_src/." "$dir/capo/" && chmod -R u+w "$dir/capo"
  capo_go=$(sed -n 's/^go \(.*\)$/\1/p' "$dir/capo/go.mod")
  cd "$dir/capo"
  # v0.11's ./orc is a nested module that is not in CAPO's module zip: an
  # empty stand-in lets the module graph load. Its controllers import it,
  # so v0.11's controllers neither build nor test here.
  base="$lbpkg/... ./api/v1beta1/..."
  pkgs="$base ./controllers/..."
  if grep -q '=> ./orc' go.mod; then
    mkdir -p orc && printf 'module github.com/k-orc/openstack-resource-controller\n\ngo 1.22\n' >orc/go.mod
    pkgs=$base
    echo "  (controllers skipped: they import the nested ./orc module, absent from CAPO's module zip)"
  fi
  cp "$bench" "$lbpkg/"
  ok=1
  step "build list" sh -c 'go list -m all | sort >"$0"' "$dir/before.list" || ok=0
  # One go test per tree: CAPO's tests, then the benchmark.
  # shellcheck disable=SC2086 # $pkgs is a list of patterns.
  step "unpatched: go test $base" go test -count=1 -v -bench Member -benchtime 2000x -benchmem $base || ok=0
  grep 'ns/op' "$log" | sed 's/^/    unpatched /' || true
  step "apply $(basename "$patchfile")" patch -s -p1 -i "$patchfile" || ok=0
  printf '\nrequire github.com/membergate/membergate/pkg/memberwait v0.0.0\n\nreplace github.com/membergate/membergate/pkg/memberwait => %s\n' "$mw" >>go.mod
  # shellcheck disable=SC2086
  step "patched: go test $pkgs" go test -count=1 -v -bench Member -benchtime 2000x -benchmem $pkgs || ok=0
  grep -E '^\s*--- (PASS|FAIL): Test_(ReconcileLoadBalancerMember|DeleteLoadBalancerMember)|returned in' "$log" | sed 's/^/    /' || true
  grep 'ns/op' "$log" | sed 's/^/    patched   /' || true
  step "build list" sh -c 'go list -m all | sort >"$0"' "$dir/after.list" || ok=0
  cd "$root"
  changed=$(join -j1 <(awk '{print $1, $2}' "$dir/before.list") <(awk '{print $1, $2}' "$dir/after.list") | awk '$2 != $3')
  added=$(comm -13 <(awk '{print $1}' "$dir/before.list") <(awk '{print $1}' "$dir/after.list") | grep -v '^github.com/membergate/' || true)
  if [ -n "$changed" ]; then
    echo "  memberwait moves module versions:"; echo "$changed" | sed 's/^/    /'; ok=0
  fi
  if [ -n "$added" ]; then
    echo "  memberwait adds modules:"; echo "$added" | sed 's/^/    /'; ok=0
  fi
  if [ $ok = 1 ]; then
    echo "compat: CAPO $v (go $capo_go): unpatched and patched tests pass with memberwait (go $mw_go); $(wc -l <"$dir/before.list") modules, none moved"
  else
    echo "compat: CAPO $v: FAILED"; fail=1
  fi
done
echo "compat: $((SECONDS - total)) s in all"
exit $fail
