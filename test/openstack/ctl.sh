#!/usr/bin/env bash
# Start, stop or query one service of the stack up.sh started, for tests that
# take Octavia's worker or API away mid-wait.
#
#   ctl.sh start|stop|restart|status SERVICE
#   ctl.sh pause|resume SERVICE   SIGSTOP / SIGCONT (a paused worker keeps
#                                 the work queued; resuming is instant)
#   ctl.sh rss                    resident memory of everything started, MiB
#
# SERVICE: mariadb epmd rabbitmq keystone octavia-api octavia-worker neutron-server
# octavia-health-manager. start returns once the service answers.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	echo "usage: $0 start|stop|restart|status|pause|resume SERVICE | rss" >&2
	exit 2
}

main() {
	[[ $# -ge 1 ]] || usage
	local cmd=$1 svc=${2:-} t0
	t0=$(now_ms)
	case $cmd in
	rss) rss_mib && return ;;
	start | stop | restart | status | pause | resume) [[ -n $svc ]] || usage ;;
	*) usage ;;
	esac
	[[ " ${OS_SERVICES[*]} " == *" $svc "* ]] || die "unknown service $svc (known: ${OS_SERVICES[*]})"
	case $cmd in
	start) start_service "$svc" && log "$svc started ($(since "$t0"))" ;;
	stop) stop_service "$svc" && log "$svc stopped ($(since "$t0"))" ;;
	pause) pause_service "$svc" ;;
	resume) resume_service "$svc" ;;
	restart)
		stop_service "$svc"
		start_service "$svc"
		log "$svc restarted ($(since "$t0"))"
		;;
	status)
		if pid=$(pid_of "$svc"); then
			echo "$svc running ($pid)"
		else
			echo "$svc stopped"
			return 3
		fi
		;;
	esac
}

main "$@"
