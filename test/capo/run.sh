#!/usr/bin/env bash
# Runs CAPO's own load-balancer member code — pkg/cloud/services/loadbalancer
# of each CAPO release, as released and with membergate's fork patch — against
# Octavia, through test/capo/caposcope: test/capo/caporeal (TestCAPOMember)
# holds the new member PENDING_CREATE under an ACTIVE load balancer, puts it
# into ERROR, and holds its deletion, and records what CAPO returned and what
# Octavia showed at that moment.
#
# One Go module cannot hold two CAPO releases, nor CAPO patched and not, so
# each (release x variant) gets a throwaway module under .cache/caporeal,
# named like the test module so that the copied sources build unchanged. The
# patched variant builds CAPO's source with the patch applied (see
# hack/compat.sh, which does the same to prove the build list does not move).
#
#   test/capo/run.sh              against the testbed test/openstack/up.sh
#                                 started (its env file must exist)
#   test/capo/run.sh --emulator   against octaviatest; needs no testbed
#
# Environment:
#   CAPO_VERSIONS     releases (default "v0.12.1 v0.13.0")
#   CAPO_VARIANTS     "unpatched patched" (default both)
#   CAPO_FORK_PATCH   the patch: a file, or a directory of <release>.patch.
#                     Default: hack/capo-fork/<release>.patch if it exists,
#                     else hack/capo-fork.patch, of this repository.
#   CAPOREAL_REPORT   where the observed rows go (default
#                     .cache/caporeal/report-<mode>.md)
#   MEMBERGATE_OPENSTACK_ENV  the testbed's env file (default
#                     test/openstack/.data/env)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
mode=octavia
if [[ ${1:-} == --emulator ]]; then
	mode=emulator
	shift
fi
[[ $# == 0 ]] || {
	echo "usage: $0 [--emulator]" >&2
	exit 2
}
versions=${CAPO_VERSIONS:-"v0.12.1 v0.13.0"}
variants=${CAPO_VARIANTS:-"unpatched patched"}
work=${CAPOREAL_WORKDIR:-$root/.cache/caporeal}
report=${CAPOREAL_REPORT:-$work/report-$mode.md}
mw=$root/pkg/memberwait
# CAPO v0.13.0's checksum is missing from the checksum database reachable here.
export GONOSUMDB=${GONOSUMDB:-sigs.k8s.io/cluster-api-provider-openstack}
export GOFLAGS=-mod=mod

log() { printf '[capo %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}
now_ms() { date +%s%3N; }
secs() { # secs START_MS → "12.3"
	local d=$(($(now_ms) - $1))
	printf '%d.%d' $((d / 1000)) $((d % 1000 / 100))
}

if [[ $mode == octavia ]]; then
	env_file=${MEMBERGATE_OPENSTACK_ENV:-$root/test/openstack/.data/env}
	[[ -s $env_file ]] || die "no $env_file: start the testbed (test/openstack/up.sh) or use --emulator"
fi

patch_for() {
	local v=$1 p=${CAPO_FORK_PATCH:-}
	if [[ -z $p ]]; then
		p=$root/hack/capo-fork.patch
		[[ -f $root/hack/capo-fork/$v.patch ]] && p=$root/hack/capo-fork/$v.patch
	elif [[ -d $p ]]; then
		p=$p/$v.patch
	fi
	[[ -f $p ]] || die "no fork patch for CAPO $v at $p"
	echo "$p"
}

# stamp V VARIANT: a digest of everything a variant's binary is built from
# here (the CAPO release is in the name, its source is immutable).
stamp() {
	{
		echo "$1 $2 $(go env GOVERSION)"
		cat "$0" "$root/test/capo/caposcope/scope.go" "$root"/test/capo/caporeal/*.go
		[[ $2 == patched ]] && cat "$(patch_for "$1")"
		find "$mw" -name '*.go' -o -name go.mod | LC_ALL=C sort | xargs cat
	} | sha256sum | cut -d' ' -f1
}

# build V VARIANT: the test binary $work/V-VARIANT/caporeal.test. A binary
# built from the same inputs (make compat builds them before CI's testbed
# run) is kept.
build() {
	local v=$1 variant=$2 dir=$work/$1-$2 info capo_mod capo_src capo_go replaces src tags="" sum
	sum=$(stamp "$v" "$variant")
	if [[ -x $dir/caporeal.test && $(cat "$dir/stamp" 2>/dev/null) == "$sum" ]]; then
		log "CAPO $v $variant: binary up to date"
		return
	fi
	local t0
	t0=$(now_ms)
	rm -rf "$dir" && mkdir -p "$dir/capo/caposcope" "$dir/capo/caporeal"
	info=$(cd "$dir" && go mod download -json "sigs.k8s.io/cluster-api-provider-openstack@$v")
	capo_mod=$(sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' <<<"$info")
	capo_src=$(sed -n 's/.*"Dir": "\(.*\)".*/\1/p' <<<"$info")
	capo_go=$(sed -n 's/^go \(.*\)$/\1/p' "$capo_mod")
	# CAPO's own replace directives hold in a module that builds it; a
	# replace to a local directory (v0.11's ./orc, not in the module zip)
	# gets an empty stand-in: no package of it is built here.
	replaces=$( (grep -E '^replace [^ ]+ => ' "$capo_mod" || true) | while read -r _ from _ to ver; do
		case $to in
		./* | ../*)
			mkdir -p "$dir/stub/$from" && printf 'module %s\n\ngo 1.22\n' "$from" >"$dir/stub/$from/go.mod"
			echo "replace $from => $dir/stub/$from"
			;;
		*) echo "replace $from => $to $ver" ;;
		esac
	done)
	if [[ $variant == patched ]]; then
		local p
		p=$(patch_for "$v")
		src=$dir/cluster-api-provider-openstack
		mkdir -p "$src" && cp -r "$capo_src/." "$src/" && chmod -R u+w "$src"
		(cd "$src"
			if grep -q '=> ./orc' go.mod; then
				mkdir -p orc && printf 'module github.com/k-orc/openstack-resource-controller\n\ngo 1.22\n' >orc/go.mod
			fi
			patch -s -p1 <"$p" &&
				# The patched package imports memberwait; a fork requires it.
				if ! grep -q membergate/pkg/memberwait go.mod; then
					printf '\nrequire github.com/membergate/membergate/pkg/memberwait v0.0.0\n\nreplace github.com/membergate/membergate/pkg/memberwait => %s\n' "$mw" >>go.mod
				fi) || die "CAPO $v: $p does not apply"
		replaces+=$'\n'"replace sigs.k8s.io/cluster-api-provider-openstack => $src"
		tags=capopatched
	fi
	cat >"$dir/go.mod" <<-MOD
		module github.com/membergate/membergate/test

		go $capo_go

		require (
			sigs.k8s.io/cluster-api-provider-openstack $v
			github.com/membergate/membergate/pkg/memberwait v0.0.0
		)

		replace github.com/membergate/membergate/pkg/memberwait => $mw

		$replaces
	MOD
	cp "$root/test/capo/caposcope/scope.go" "$dir/capo/caposcope/"
	cp "$root"/test/capo/caporeal/*.go "$dir/capo/caporeal/"
	(cd "$dir" && go mod tidy >"$dir/build.log" 2>&1 &&
		go test -c -tags "$tags" -o "$dir/caporeal.test" ./capo/caporeal >>"$dir/build.log" 2>&1) || {
		tail -30 "$dir/build.log" >&2
		if [[ $variant == patched ]] && grep -q 'capo_patched_test\.go' "$dir/build.log"; then
			die "CAPO $v: $p does not give ReconcileLoadBalancerMember the requeue result ((*ctrl.Result, error)) the test drives"
		fi
		die "CAPO $v $variant: build failed (log: $dir/build.log)"
	}
	echo "$sum" >"$dir/stamp"
	log "CAPO $v $variant: built in $(secs "$t0") s"
}

# failure LOG: what a failed run said, without the rows it recorded.
failure() { grep -v -e '^=== RUN' -e '_test\.go:[0-9]*: | ' "$1" | tail -40 >&2 || true; }

main() {
	local v variant t0 total0 pids=() failed=0 runs=()
	total0=$(now_ms)
	mkdir -p "$work"
	: >"$report"
	for v in $versions; do
		for variant in $variants; do
			build "$v" "$variant"
			runs+=("$v-$variant")
		done
	done
	# The emulator runs are independent and mostly wait (the patched CAPO's
	# settle window): in parallel. Real Octavia runs one at a time: a hold
	# freezes its only worker.
	local env=(CAPOREAL_REPORT="$report")
	[[ $mode == octavia ]] && env+=(MEMBERGATE_OPENSTACK_ENV="$env_file" CAPOREAL_REQUIRE_OCTAVIA=1)
	for r in "${runs[@]}"; do
		local dir=$work/$r
		if [[ $mode == emulator ]]; then
			(cd "$dir" && t0=$(now_ms) && env "${env[@]}" CAPOREAL_CAPO_VERSION="${r%%-*}" ./caporeal.test -test.v -test.count=1 \
				-test.timeout 10m -test.run "^TestCAPOMember\$/^$mode\$" >"$dir/run.log" 2>&1 &&
				log "CAPO ${r/-/ }: $mode scenarios passed in $(secs "$t0") s") &
			pids+=($!)
		else
			t0=$(now_ms)
			if (cd "$dir" && env "${env[@]}" CAPOREAL_CAPO_VERSION="${r%%-*}" ./caporeal.test -test.v -test.count=1 \
				-test.timeout 10m -test.run "^TestCAPOMember\$/^$mode\$" >"$dir/run.log" 2>&1); then
				log "CAPO ${r/-/ }: $mode scenarios passed in $(secs "$t0") s"
			else
				failure "$dir/run.log"
				log "CAPO ${r/-/ }: FAILED (log: $dir/run.log)"
				failed=1
			fi
		fi
	done
	for i in "${!pids[@]}"; do
		if ! wait "${pids[$i]}"; then
			failure "$work/${runs[$i]}/run.log"
			log "CAPO ${runs[$i]/-/ }: FAILED (log: $work/${runs[$i]}/run.log)"
			failed=1
		fi
	done
	echo "| CAPO | variant | Octavia | step | CAPO returned | call took | LB in CAPO's GETs | LB after | member after |"
	echo "|---|---|---|---|---|---|---|---|---|"
	sort -s -t'|' -k2,3 "$report"
	log "total $(secs "$total0") s; rows in $report"
	[[ $failed == 0 ]] || die "CAPO member scenarios failed"
}

main "$@"
