# shellcheck shell=bash
# Progress lines for hack/envtest/*.sh, sourced: each step says what it
# does, after the time since the run began, on stderr (stdout belongs to
# the callers' results). MEMBERGATE_T0 is that beginning in microseconds
# since the Unix epoch: a caller that sets it (run.sh) keeps one clock
# across the scripts and the demo, which reads it too.

# now_us prints the current time in microseconds since the Unix epoch.
now_us() {
  if [ -n "${EPOCHREALTIME:-}" ]; then
    echo "${EPOCHREALTIME/[.,]/}" # bash 5; the separator follows the locale
  else
    echo "$(date +%s)000000"
  fi
}

MEMBERGATE_T0=${MEMBERGATE_T0:-$(now_us)}
export MEMBERGATE_T0

# since <start_us> prints the time since start as Go prints a duration
# rounded to the second (5s, 1m12s), the demo's format.
since() {
  local s=$((($(now_us) - $1 + 500000) / 1000000))
  if [ "$s" -lt 60 ]; then echo "${s}s"; else echo "$((s / 60))m$((s % 60))s"; fi
}

# progress <message> prints one step on stderr after the run's elapsed time.
progress() {
  printf '%7s  %s\n' "$(since "$MEMBERGATE_T0")" "$*" >&2
}
