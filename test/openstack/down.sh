#!/usr/bin/env bash
# Stop what up.sh (and ctl.sh) started, by the PIDs recorded under
# test/openstack/.data/pids, in reverse start order. Data stays; pass --purge
# to delete test/openstack/.data as well (the next up.sh starts from empty).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# stop_all SERVICE...: stop these services at the same time.
stop_all() {
	local svc
	for svc in "$@"; do
		if is_running "$svc"; then
			log "stopping $svc ($(pid_of "$svc"))"
			stop_service "$svc" &
		fi
	done
	wait
}

main() {
	local purge="" t0
	t0=$(now_ms)
	[[ ${1:-} == --purge ]] && purge=1
	# The OpenStack services first (they hold connections to the rest), then
	# the message broker, then the database.
	stop_all octavia-health-manager neutron-server octavia-worker octavia-api
	stop_all keystone rabbitmq epmd
	stop_all mariadb
	rm -f "$OS_ENV_FILE"
	if [[ -n $purge ]]; then
		rm -rf "$OS_DATA"
		log "purged $OS_DATA"
	fi
	log "stack down ($(since "$t0"))"
}

main "$@"
