#!/usr/bin/env bash
# Install (from Debian's apt) and start real Keystone 22, Octavia 11 and
# Neutron 21 on 127.0.0.1: MariaDB, RabbitMQ, Keystone (under uWSGI),
# octavia-api, octavia-worker and neutron-server, both behind keystonemiddleware,
# noop drivers, everything under test/openstack/.data. Idempotent: a
# running stack is detected and left alone in about a second. Writes
# test/openstack/.data/env for the conformance suite.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
	local t0 t_up
	t0=$(now_ms)
	mkdir -p "$OS_DATA"
	if stack_up_quick; then
		log "already up ($(since "$t0")): Keystone $(env_value OS_AUTH_URL), Octavia $(env_value OS_OCTAVIA_ENDPOINT), Neutron $(env_value OS_NEUTRON_ENDPOINT); env: $OS_ENV_FILE"
		return
	fi
	install_packages
	make_dirs
	t_up=$(now_ms)
	make_certs
	write_octavia_conf
	write_neutron_conf
	write_keystone_conf

	start_mariadb
	log "mariadb up ($(since "$t_up"))"
	# RabbitMQ boots while the schemas migrate: the four are independent and
	# each takes seconds.
	start_service rabbitmq &
	local rabbit=$!
	keystone_db_setup &
	local keystone_db=$!
	octavia_db_upgrade &
	local octavia_db=$!
	neutron_db_upgrade &
	local neutron_db=$!
	wait "$keystone_db" || die "keystone schema or bootstrap failed"
	start_service keystone nowait
	wait "$rabbit" || die "rabbitmq did not start"
	log "rabbitmq up ($(since "$t_up"))"
	wait "$octavia_db" || die "octavia schema migration failed"
	log "octavia schema at head ($(since "$t_up"))"
	# The worker first, so its queue exists before the API can cast to it.
	start_service octavia-worker nowait
	start_service octavia-api nowait
	wait "$neutron_db" || die "neutron schema migration failed"
	log "neutron schema at heads ($(since "$t_up"))"
	start_service neutron-server nowait
	wait_service octavia-worker
	wait_service octavia-api
	log "octavia up ($(since "$t_up"))"
	wait_service keystone
	keystone_seed
	log "keystone up and seeded ($(since "$t_up"))"
	wait_service neutron-server
	log "neutron up ($(since "$t_up"))"

	write_env_file
	since "$t_up" >"$OS_DATA/bringup-time"
	log "stack up: bring-up $(since "$t_up"), total $(since "$t0"), RSS $(rss_mib) MiB; env: $OS_ENV_FILE"
}

env_value() { sed -n "s/^$1=//p" "$OS_ENV_FILE"; }

main "$@"
