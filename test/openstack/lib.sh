# shellcheck shell=bash
# Shared by up.sh, down.sh, ctl.sh and run-tests.sh: where things live, how to
# install, configure, start and stop the pieces of a real OpenStack load
# balancer stack (Octavia 11 and Neutron 21 from Debian bookworm) on 127.0.0.1.
#
# Everything the stack writes — databases, configs, certificates, logs, pid
# files — stays under $OS_DATA (test/openstack/.data, git-ignored). Only the
# processes recorded in $OS_DATA/pids are ever stopped, by PID.

OS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OS_DATA=${OS_DATA:-$OS_DIR/.data}
OS_ENV_FILE=$OS_DATA/env

# Loopback ports, away from the services' defaults so that a stack already on
# the machine (or a second checkout) does not collide with this one.
OS_MYSQL_PORT=${OS_MYSQL_PORT:-23306}
OS_EPMD_PORT=${OS_EPMD_PORT:-24369}
OS_AMQP_PORT=${OS_AMQP_PORT:-25672}
OS_AMQP_DIST_PORT=${OS_AMQP_DIST_PORT:-25673}
OS_OCTAVIA_PORT=${OS_OCTAVIA_PORT:-29876}
OS_NEUTRON_PORT=${OS_NEUTRON_PORT:-29696}
OS_HM_PORT=${OS_HM_PORT:-25555}
OS_KEYSTONE_PORT=${OS_KEYSTONE_PORT:-25000}

# The key that signs amphora heartbeats.
OS_HEARTBEAT_KEY=${OS_HEARTBEAT_KEY:-membergate-conformance}
OS_DB_PASSWORD=membergate
OS_RABBIT_NODE=membergate-os@localhost

# Keystone: the region of every endpoint, the admin that keystone-manage
# bootstrap makes, the service users Octavia's and Neutron's keystonemiddleware
# validate tokens with, and the member user (and its project) the suite acts
# as. Throw-away passwords for a loopback-only test stack.
OS_REGION=RegionOne
OS_ADMIN_PASSWORD=membergate-admin
OS_SERVICE_PASSWORD=membergate-service
OS_MEMBER_USER=membergate
OS_MEMBER_PASSWORD=membergate-member
OS_MEMBER_PROJECT=membergate
OS_APPCRED_NAME=membergate-conformance
# Token lifetime: short, so that the drills see tokens expire mid-hold
# within a couple of minutes of real time; keystonemiddleware's token cache
# (token_cache_time) is held below it so a cached token never outlives its
# expiry by much.
OS_TOKEN_EXPIRATION=${OS_TOKEN_EXPIRATION:-60}

# Debian packages. --no-install-recommends keeps the install to the servers
# and the Python libraries they import.
OS_PACKAGES=(
	octavia-api octavia-worker octavia-health-manager octavia-housekeeping octavia-driver-agent
	neutron-server mariadb-server mariadb-client rabbitmq-server python3-pymysql openssl
	keystone python3-keystone uwsgi-core uwsgi-plugin-python3
	curl jq ca-certificates iproute2 procps
)

# Services ctl.sh knows, in start order.
OS_SERVICES=(mariadb epmd rabbitmq keystone octavia-api octavia-worker neutron-server octavia-health-manager)

log() { printf '[openstack %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}

now_ms() { date +%s%3N; }
since() { # since START_MS → "12.3 s"
	local d=$(($(now_ms) - $1))
	printf '%d.%d s' $((d / 1000)) $((d % 1000 / 100))
}

# --- installation ----------------------------------------------------------

missing_packages() {
	local p missing=()
	for p in "${OS_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	echo "${missing[@]:-}"
}

# install_packages installs whatever is missing; a no-op (and quick) when all
# is there. The packages' own services must not start from the maintainer
# scripts (they would take the default ports, as other users): the image's
# policy-rc.d forbids it, and a machine without one gets one for the install.
install_packages() {
	local missing
	missing=$(missing_packages)
	if [[ -z $missing ]]; then
		log "packages: all installed"
		return
	fi
	[[ $(id -u) == 0 ]] || die "installing ($missing) needs root"
	local t0 policy_added=""
	t0=$(now_ms)
	log "packages: installing $missing"
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		policy_added=1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >"$OS_DATA/apt-update.log" 2>&1 || {
		tail -20 "$OS_DATA/apt-update.log" >&2
		die "apt-get update failed"
	}
	# shellcheck disable=SC2086 # word splitting of the package list is wanted
	apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confdef \
		-o Dpkg::Options::=--force-confold $missing >"$OS_DATA/apt-install.log" 2>&1 || {
		tail -30 "$OS_DATA/apt-install.log" >&2
		die "apt-get install failed (log: $OS_DATA/apt-install.log)"
	}
	if [[ -n $policy_added ]]; then
		rm -f /usr/sbin/policy-rc.d
	fi
	OS_INSTALL_SECONDS=$(since "$t0")
	log "packages: installed in $OS_INSTALL_SECONDS"
	echo "$OS_INSTALL_SECONDS" >"$OS_DATA/install-time"
}

# --- layout ------------------------------------------------------------------

OS_CONF=$OS_DATA/etc
OS_LOGS=$OS_DATA/log
OS_PIDS=$OS_DATA/pids
OS_RUN=$OS_DATA/run
OS_MYSQL_DIR=$OS_DATA/mysql
OS_MYSQL_SOCK=$OS_RUN/mysqld.sock
OS_RABBIT_DIR=$OS_DATA/rabbitmq

make_dirs() {
	mkdir -p "$OS_CONF" "$OS_LOGS" "$OS_PIDS" "$OS_RUN" "$OS_RABBIT_DIR" "$OS_DATA/certs" \
		"$OS_DATA/lock" "$OS_DATA/octavia" "$OS_DATA/keystone"
}

# --- processes ---------------------------------------------------------------

# start_time PID: the process's start time in clock ticks since boot; with
# the PID it identifies a process even after the PID has been reused.
start_time() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $20}'; }

pid_of() { # pid_of SERVICE → the recorded PID if that very process still runs
	local f=$OS_PIDS/$1.pid pid started
	[[ -s $f ]] || return 1
	read -r pid started <"$f" || true
	[[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
	# A machine that rebooted may have handed the PID to something else.
	[[ -z ${started:-} || $(start_time "$pid") == "$started" ]] || return 1
	echo "$pid"
}

is_running() { pid_of "$1" >/dev/null; }

# spawn SERVICE CMD... runs CMD in a session of its own (so its children share
# its process group, and stopping it reaches them by that group's id, which is
# the recorded PID), logs to $OS_LOGS/SERVICE.log, records the PID.
spawn() {
	local svc=$1
	shift
	setsid "$@" >>"$OS_LOGS/$svc.log" 2>&1 </dev/null &
	echo "$! $(start_time $!)" >"$OS_PIDS/$svc.pid"
}

# stop_service SERVICE: TERM the recorded process group, KILL it after a
# grace. The health manager's TERM handler waits on its process pools and
# never finishes (measured: still running after 15 s), and it keeps no state
# a test needs, so it gets 2 s.
stop_service() {
	local svc=$1 pid i grace=150
	[[ $svc == octavia-health-manager ]] && grace=20
	pid=$(pid_of "$svc") || {
		rm -f "$OS_PIDS/$svc.pid"
		return 0
	}
	kill -CONT -- "-$pid" 2>/dev/null || true # a paused service cannot act on TERM
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < grace; i++)); do # 15 s: MariaDB flushes, RabbitMQ closes queues
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		[[ $svc == octavia-health-manager ]] || log "$svc ($pid) ignored TERM; killing it"
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	fi
	# Children that outlived the leader still carry its group id.
	kill -KILL -- "-$pid" 2>/dev/null || true
	rm -f "$OS_PIDS/$svc.pid"
}

# pause_service / resume_service freeze a service and thaw it (SIGSTOP and
# SIGCONT to its process group): a paused octavia-worker leaves the work in
# RabbitMQ, so the API's PENDING_* states can be observed for certain, and
# resuming costs nothing, unlike a restart.
pause_service() {
	local pid
	pid=$(pid_of "$1") || die "$1 is not running"
	kill -STOP -- "-$pid"
}

resume_service() {
	local pid
	pid=$(pid_of "$1") || die "$1 is not running"
	kill -CONT -- "-$pid"
}

# wait_until SERVICE SECONDS CHECK...: poll CHECK every 0.1 s; fail with the
# service's log tail when it does not pass in time or the process died.
wait_until() {
	local svc=$1 secs=$2 i
	shift 2
	for ((i = 0; i < secs * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		if ! is_running "$svc"; then
			tail -40 "$OS_LOGS/$svc.log" >&2 || true
			die "$svc exited during start-up (log: $OS_LOGS/$svc.log)"
		fi
		sleep 0.1
	done
	tail -40 "$OS_LOGS/$svc.log" >&2 || true
	die "$svc not ready after ${secs} s (log: $OS_LOGS/$svc.log)"
}

http_ok() { curl -fsS -o /dev/null --max-time 2 "$1"; }
tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- MariaDB -----------------------------------------------------------------

mysql_cli() { mariadb --no-defaults --socket="$OS_MYSQL_SOCK" -uroot "$@"; }

start_mariadb() {
	is_running mariadb || spawn_mariadb
	# Every run: a data directory made before a service was added (Keystone)
	# gets that service's database too.
	mysql_cli --batch <<-SQL
		CREATE DATABASE IF NOT EXISTS octavia;
		CREATE DATABASE IF NOT EXISTS neutron;
		CREATE DATABASE IF NOT EXISTS keystone;
		CREATE USER IF NOT EXISTS 'membergate'@'127.0.0.1' IDENTIFIED BY '$OS_DB_PASSWORD';
		GRANT ALL PRIVILEGES ON octavia.* TO 'membergate'@'127.0.0.1';
		GRANT ALL PRIVILEGES ON neutron.* TO 'membergate'@'127.0.0.1';
		GRANT ALL PRIVILEGES ON keystone.* TO 'membergate'@'127.0.0.1';
	SQL
}

spawn_mariadb() {
	if [[ ! -d $OS_MYSQL_DIR/mysql ]]; then
		mkdir -p "$OS_MYSQL_DIR"
		mariadb-install-db --no-defaults --basedir=/usr --datadir="$OS_MYSQL_DIR" --user=root \
			--auth-root-authentication-method=normal --skip-test-db >"$OS_LOGS/mariadb-install.log" 2>&1 ||
			die "mariadb-install-db failed (log: $OS_LOGS/mariadb-install.log)"
	fi
	# Durability is traded for speed: this is a throw-away test database.
	spawn mariadb /usr/sbin/mariadbd --no-defaults --user=root --datadir="$OS_MYSQL_DIR" \
		--socket="$OS_MYSQL_SOCK" --port="$OS_MYSQL_PORT" --bind-address=127.0.0.1 \
		--pid-file="$OS_RUN/mysqld.pid" --skip-name-resolve --skip-log-bin \
		--innodb-buffer-pool-size=64M --innodb-log-file-size=48M --innodb-flush-log-at-trx-commit=0 \
		--innodb-doublewrite=0 --max-connections=500 --character-set-server=utf8mb4 \
		--collation-server=utf8mb4_general_ci --performance-schema=OFF
	wait_until mariadb 60 mysql_cli -e 'SELECT 1'
}

# --- RabbitMQ ----------------------------------------------------------------

rabbit_vars() {
	RABBIT_VARS=(HOME="$OS_RABBIT_DIR" RABBITMQ_CONF_ENV_FILE=/dev/null RABBITMQ_NODENAME="$OS_RABBIT_NODE"
		RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$OS_AMQP_PORT"
		RABBITMQ_DIST_PORT="$OS_AMQP_DIST_PORT" ERL_EPMD_PORT="$OS_EPMD_PORT"
		ERL_EPMD_ADDRESS=127.0.0.1 RABBITMQ_MNESIA_BASE="$OS_RABBIT_DIR/mnesia"
		RABBITMQ_LOG_BASE="$OS_RABBIT_DIR/log" RABBITMQ_CONFIG_FILE="$OS_CONF/rabbitmq"
		RABBITMQ_ADVANCED_CONFIG_FILE="$OS_CONF/rabbitmq-advanced.config"
		RABBITMQ_ENABLED_PLUGINS_FILE="$OS_CONF/rabbitmq-enabled-plugins"
		RABBITMQ_PID_FILE="$OS_RUN/rabbitmq.pid" RABBITMQ_LOGS=-)
}

start_rabbitmq() {
	if ! is_running epmd; then
		# An epmd of our own on its own port: the Erlang VM would otherwise
		# start (and leave behind) a daemon on the shared default port.
		spawn epmd /usr/bin/epmd -port "$OS_EPMD_PORT" -address 127.0.0.1
		wait_until epmd 10 tcp_open "$OS_EPMD_PORT"
	fi
	is_running rabbitmq && return
	mkdir -p "$OS_RABBIT_DIR/mnesia" "$OS_RABBIT_DIR/log"
	# Loopback only, no management plugin, small footprint; guest may log in
	# from 127.0.0.1 (its default), which is all the services need.
	cat >"$OS_CONF/rabbitmq.conf" <<-EOC
		listeners.tcp.default = 127.0.0.1:$OS_AMQP_PORT
		loopback_users.guest = true
		vm_memory_high_watermark.absolute = 512MB
		disk_free_limit.absolute = 50MB
	EOC
	echo '[].' >"$OS_CONF/rabbitmq-advanced.config"
	echo '[].' >"$OS_CONF/rabbitmq-enabled-plugins"
	rabbit_vars
	spawn rabbitmq env "${RABBIT_VARS[@]}" /usr/lib/rabbitmq/bin/rabbitmq-server
	wait_until rabbitmq 90 tcp_open "$OS_AMQP_PORT"
}

rabbitmqctl() {
	rabbit_vars
	env "${RABBIT_VARS[@]}" /usr/lib/rabbitmq/bin/rabbitmqctl -n "$OS_RABBIT_NODE" "$@"
}

# --- certificates ------------------------------------------------------------

# make_certs: a throw-away CA for the amphora flow. Even with noop drivers it
# signs an amphora certificate with [certificates] ca_* and reads client_ca;
# without them the first load balancer goes to ERROR.
make_certs() {
	local d=$OS_DATA/certs
	[[ -s $d/client.pem ]] && return
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=membergate conformance CA" \
		-keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj "/CN=membergate conformance controller" \
		-keyout "$d/client.key" -out "$d/client.csr" 2>/dev/null
	openssl x509 -req -in "$d/client.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
		-days 3650 -out "$d/client.crt" 2>/dev/null
	cat "$d/client.crt" "$d/client.key" >"$d/client.pem"
	chmod 600 "$d"/*.key "$d/client.pem"
}

# --- Keystone ----------------------------------------------------------------

OS_KEYSTONE_URL=http://127.0.0.1:$OS_KEYSTONE_PORT/v3
OS_KEYSTONE_DIR=$OS_DATA/keystone

write_keystone_conf() {
	cat >"$OS_CONF/keystone.conf" <<-EOC
		[DEFAULT]
		debug = False
		use_stderr = True
		log_dir =
		log_file =

		[database]
		connection = mysql+pymysql://membergate:$OS_DB_PASSWORD@127.0.0.1:$OS_MYSQL_PORT/keystone

		[identity]
		# bcrypt's cheapest cost: Keystone hashes every password and
		# application-credential secret it checks, and at the default cost
		# (12) a login took 2-5 s on this loaded 2-core machine, long
		# enough for keystonemiddleware to answer 503.
		password_hash_rounds = 4

		[token]
		provider = fernet
		expiration = $OS_TOKEN_EXPIRATION

		[fernet_tokens]
		key_repository = $OS_KEYSTONE_DIR/fernet-keys

		[fernet_receipts]
		key_repository = $OS_KEYSTONE_DIR/fernet-receipts

		[credential]
		key_repository = $OS_KEYSTONE_DIR/credential-keys

		# An in-process cache (one uWSGI process, so one cache): token
		# validations, roles and the catalog are read from the database
		# once per 30 s instead of on every request. A revoked token (a
		# deleted application credential's) may thus pass for up to 30 s
		# more, as keystonemiddleware's own cache allows anyway.
		[cache]
		enabled = True
		backend = dogpile.cache.memory
		expiration_time = 30

		[oslo_policy]
		policy_dirs = /etc/keystone/policy.d

		[oslo_concurrency]
		lock_path = $OS_DATA/lock
	EOC
}

keystone_manage() { keystone-manage --config-file "$OS_CONF/keystone.conf" "$@"; }

# keystone_db_setup: schema, signing keys and the bootstrap admin (with
# Keystone's own catalog entry), each once; later runs find their markers.
keystone_db_setup() {
	local l=$OS_LOGS/keystone-manage.log
	if [[ ! -e $OS_KEYSTONE_DIR/db-synced ]]; then
		keystone_manage db_sync >"$l" 2>&1 || die "keystone-manage db_sync failed (log: $l)"
		touch "$OS_KEYSTONE_DIR/db-synced"
	fi
	if [[ ! -d $OS_KEYSTONE_DIR/fernet-keys ]]; then
		mkdir -p "$OS_KEYSTONE_DIR"/{fernet-keys,fernet-receipts,credential-keys}
		chmod 700 "$OS_KEYSTONE_DIR"/{fernet-keys,fernet-receipts,credential-keys}
		local keys
		for keys in fernet_setup receipt_setup credential_setup; do
			keystone_manage "$keys" --keystone-user "$(id -un)" --keystone-group "$(id -gn)" >>"$l" 2>&1 ||
				die "keystone-manage $keys failed (log: $l)"
		done
	fi
	if [[ ! -e $OS_KEYSTONE_DIR/bootstrapped ]]; then
		keystone_manage bootstrap --bootstrap-password "$OS_ADMIN_PASSWORD" --bootstrap-username admin \
			--bootstrap-project-name admin --bootstrap-role-name admin --bootstrap-region-id "$OS_REGION" \
			--bootstrap-public-url "$OS_KEYSTONE_URL" --bootstrap-internal-url "$OS_KEYSTONE_URL" >>"$l" 2>&1 ||
			die "keystone-manage bootstrap failed (log: $l)"
		touch "$OS_KEYSTONE_DIR/bootstrapped"
	fi
}

# Keystone runs under uWSGI (Debian's own way of serving it, without
# Apache): one process (one cache), a few threads, HTTP on loopback. Every request is
# logged. uWSGI's plain HTTP socket closes each connection after the answer
# without saying so; keystonemiddleware then reused the closed connection
# and answered 503 (RemoteDisconnected), so every answer says
# Connection: close.
start_keystone() {
	spawn keystone /usr/bin/uwsgi --plugin python3 --http-socket "127.0.0.1:$OS_KEYSTONE_PORT" \
		--wsgi-file /usr/bin/keystone-wsgi-public --env "OS_KEYSTONE_CONFIG_FILES=$OS_CONF/keystone.conf" \
		--master --processes 1 --threads 8 --die-on-term --no-orphans --lazy-apps --buffer-size 65535 \
		--add-header 'Connection: close' \
		--pidfile "$OS_RUN/keystone.pid"
}

keystone_ready() { http_ok "$OS_KEYSTONE_URL"; }

# ks_login: an admin token in KS_TOKEN, fetched again once it is half a
# token lifetime old. Callers run it in the main shell before calls made in
# command substitutions, so that the subshells inherit a fresh token.
ks_login() {
	[[ -n ${KS_TOKEN:-} && $((SECONDS - KS_TOKEN_AT)) -lt $((OS_TOKEN_EXPIRATION / 2)) ]] && return
	KS_TOKEN=$(curl -fsS -D - -o /dev/null -H 'Content-Type: application/json' "$OS_KEYSTONE_URL/auth/tokens" -d '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"id":"default"},"password":"'"$OS_ADMIN_PASSWORD"'"}}},"scope":{"project":{"name":"admin","domain":{"id":"default"}}}}}' |
		tr -d '\r' | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p') || die "cannot get an admin token from Keystone"
	KS_TOKEN_AT=$SECONDS
}

# ks METHOD PATH [BODY]: one Keystone API call as the admin, the JSON answer
# on stdout.
ks() {
	local method=$1 path=$2 body=${3:-}
	ks_login
	curl -fsS -X "$method" -H "X-Auth-Token: $KS_TOKEN" -H 'Content-Type: application/json' \
		"$OS_KEYSTONE_URL$path" ${body:+-d "$body"}
}

# ks_ensure VAR KIND NAME BODY: sets VAR to the ID of the KIND (projects,
# users, roles, services) named NAME, created from BODY when there is none.
ks_ensure() {
	local kind=$2 name=$3 body=$4 id
	ks_login
	id=$(ks GET "/$kind?name=$name" | jq -r ".${kind}[0].id // empty")
	if [[ -z $id ]]; then
		id=$(ks POST "/$kind" "$body" | jq -r ".${kind%s}.id")
	fi
	[[ -n $id && $id != null ]] || die "keystone: could not create $kind $name"
	printf -v "$1" %s "$id"
}

ks_grant() { ks PUT "/projects/$1/users/$2/roles/$3" >/dev/null; }

# ks_endpoint SERVICE_ID INTERFACE URL: one catalog entry, made once.
ks_endpoint() {
	local n
	ks_login
	n=$(ks GET "/endpoints?service_id=$1&interface=$2&region_id=$OS_REGION" | jq '.endpoints | length')
	[[ $n -gt 0 ]] && return
	ks POST /endpoints '{"endpoint":{"service_id":"'"$1"'","interface":"'"$2"'","region_id":"'"$OS_REGION"'","url":"'"$3"'"}}' >/dev/null
}

# keystone_seed: the service project and users, the member user with the
# roles Octavia's and Neutron's default policies want, an application
# credential of the member's, and the catalog. Done once (keystone/seeded
# keeps the IDs the env file names); every step also finds what exists, so
# a seeding cut short is finished by the next up.sh.
keystone_seed() {
	local f=$OS_KEYSTONE_DIR/seeded
	[[ -s $f ]] && return
	local service admin_role member_role lb_role service_role project other user svc lb net secret ac
	ks_ensure service projects service '{"project":{"name":"service","domain_id":"default"}}'
	ks_ensure project projects "$OS_MEMBER_PROJECT" '{"project":{"name":"'"$OS_MEMBER_PROJECT"'","domain_id":"default"}}'
	# A project the member has no role on: the wrong-project case.
	ks_ensure other projects membergate-other '{"project":{"name":"membergate-other","domain_id":"default"}}'
	ks_ensure admin_role roles admin '{"role":{"name":"admin"}}'
	ks_ensure member_role roles member '{"role":{"name":"member"}}'
	ks_ensure lb_role roles load-balancer_member '{"role":{"name":"load-balancer_member"}}'
	ks_ensure service_role roles service '{"role":{"name":"service"}}'
	for svc in octavia neutron; do
		ks_ensure user users "$svc" '{"user":{"name":"'"$svc"'","domain_id":"default","password":"'"$OS_SERVICE_PASSWORD"'"}}'
		ks_grant "$service" "$user" "$admin_role"
		ks_grant "$service" "$user" "$service_role"
	done
	ks_ensure user users "$OS_MEMBER_USER" '{"user":{"name":"'"$OS_MEMBER_USER"'","domain_id":"default","password":"'"$OS_MEMBER_PASSWORD"'","default_project_id":"'"$project"'"}}'
	ks_grant "$project" "$user" "$member_role"
	ks_grant "$project" "$user" "$lb_role"
	ks_ensure lb services octavia '{"service":{"name":"octavia","type":"load-balancer"}}'
	ks_ensure net services neutron '{"service":{"name":"neutron","type":"network"}}'
	for i in public internal; do
		ks_endpoint "$lb" "$i" "http://127.0.0.1:$OS_OCTAVIA_PORT"
		ks_endpoint "$net" "$i" "http://127.0.0.1:$OS_NEUTRON_PORT"
	done
	# The application credential: created by the member itself (Keystone
	# lets only the owner do it), with roles the member has.
	secret=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
	ac=$(member_appcred "$user" "$OS_APPCRED_NAME" "$secret") || die "keystone: could not create the application credential"
	cat >"$f.tmp" <<-EOS
		OS_PROJECT_ID=$project
		OS_OTHER_PROJECT_ID=$other
		OS_MEMBER_USER_ID=$user
		OS_APPCRED_ID=$ac
		OS_APPCRED_SECRET=$secret
	EOS
	mv "$f.tmp" "$f"
}

# member_appcred USER_ID NAME SECRET: creates (replacing one of that name)
# an application credential of the member user and prints its ID.
member_appcred() {
	local user=$1 name=$2 secret=$3 token old
	token=$(curl -fsS -D - -o /dev/null -H 'Content-Type: application/json' "$OS_KEYSTONE_URL/auth/tokens" -d '{"auth":{"identity":{"methods":["password"],"password":{"user":{"id":"'"$user"'","password":"'"$OS_MEMBER_PASSWORD"'"}}},"scope":{"project":{"name":"'"$OS_MEMBER_PROJECT"'","domain":{"id":"default"}}}}}' |
		tr -d '\r' | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p') || return 1
	old=$(curl -fsS -H "X-Auth-Token: $token" "$OS_KEYSTONE_URL/users/$user/application_credentials?name=$name" |
		jq -r '.application_credentials[0].id // empty')
	if [[ -n $old ]]; then
		curl -fsS -X DELETE -H "X-Auth-Token: $token" "$OS_KEYSTONE_URL/users/$user/application_credentials/$old" || return 1
	fi
	curl -fsS -H "X-Auth-Token: $token" -H 'Content-Type: application/json' "$OS_KEYSTONE_URL/users/$user/application_credentials" \
		-d '{"application_credential":{"name":"'"$name"'","secret":"'"$secret"'"}}' | jq -re .application_credential.id
}

# keystone_authtoken SERVICE: the keystonemiddleware section Octavia and
# Neutron validate tokens with. token_cache_time stays below the token
# lifetime: the middleware keeps a validated token for that long (in
# process, no memcached) but also refuses one past its expiry.
keystone_authtoken() {
	cat <<-EOC
		[keystone_authtoken]
		www_authenticate_uri = $OS_KEYSTONE_URL
		auth_url = $OS_KEYSTONE_URL
		auth_type = password
		username = $1
		password = $OS_SERVICE_PASSWORD
		project_name = service
		user_domain_id = default
		project_domain_id = default
		region_name = $OS_REGION
		token_cache_time = 30
		service_token_roles_required = true
	EOC
}

# --- Octavia -----------------------------------------------------------------

write_octavia_conf() {
	local c=$OS_DATA/certs
	cat >"$OS_CONF/octavia.conf" <<-EOC
		[DEFAULT]
		transport_url = rabbit://guest:guest@127.0.0.1:$OS_AMQP_PORT/
		debug = False
		use_stderr = True

		[api_settings]
		bind_host = 127.0.0.1
		bind_port = $OS_OCTAVIA_PORT
		auth_strategy = keystone
		default_provider_driver = amphora
		enabled_provider_drivers = amphora:The Octavia Amphora driver.,octavia:Deprecated alias of the Octavia Amphora driver.

		[database]
		connection = mysql+pymysql://membergate:$OS_DB_PASSWORD@127.0.0.1:$OS_MYSQL_PORT/octavia

		[controller_worker]
		amphora_driver = amphora_noop_driver
		compute_driver = compute_noop_driver
		network_driver = network_noop_driver
		volume_driver = volume_noop_driver
		image_driver = image_noop_driver
		distributor_driver = distributor_noop_driver
		loadbalancer_topology = SINGLE
		workers = 1
		client_ca = $c/ca.pem

		[certificates]
		cert_generator = local_cert_generator
		ca_certificate = $c/ca.pem
		ca_private_key = $c/ca.key
		server_certs_key_passphrase = membergate-conformance-012345678

		[haproxy_amphora]
		client_cert = $c/client.pem
		server_ca = $c/ca.pem

		[health_manager]
		bind_ip = 127.0.0.1
		bind_port = $OS_HM_PORT
		controller_ip_port_list = 127.0.0.1:$OS_HM_PORT
		heartbeat_key = $OS_HEARTBEAT_KEY
		health_update_threads = 1
		stats_update_threads = 1
		# The health manager fails an amphora over once its heartbeats stop for
		# this long; tests drive heartbeats for seconds, so a failover (which
		# would rewrite member statuses) must never start during a run.
		heartbeat_timeout = 3600

		[task_flow]
		jobboard_enabled = False

		[oslo_messaging]
		topic = octavia_prov

		[driver_agent]
		status_socket_path = $OS_RUN/octavia-status.sock
		stats_socket_path = $OS_RUN/octavia-stats.sock
		get_socket_path = $OS_RUN/octavia-get.sock

		[oslo_concurrency]
		lock_path = $OS_DATA/lock

		$(keystone_authtoken octavia)
	EOC
}

octavia_db_upgrade() {
	[[ -e $OS_DATA/octavia/db-upgraded ]] && return
	octavia-db-manage --config-file "$OS_CONF/octavia.conf" upgrade head >"$OS_LOGS/octavia-db-manage.log" 2>&1 ||
		die "octavia-db-manage upgrade head failed (log: $OS_LOGS/octavia-db-manage.log)"
	touch "$OS_DATA/octavia/db-upgraded"
}

# --- Neutron -----------------------------------------------------------------

write_neutron_conf() {
	cat >"$OS_CONF/neutron.conf" <<-EOC
		[DEFAULT]
		bind_host = 127.0.0.1
		bind_port = $OS_NEUTRON_PORT
		auth_strategy = keystone
		core_plugin = ml2
		service_plugins =
		transport_url = rabbit://guest:guest@127.0.0.1:$OS_AMQP_PORT/
		# One process serves the API and RPC: the suite needs no throughput.
		api_workers = 0
		rpc_workers = 0
		rpc_state_report_workers = 0
		notify_nova_on_port_status_changes = False
		notify_nova_on_port_data_changes = False
		debug = False
		use_stderr = True
		state_path = $OS_DATA/neutron
		api_paste_config = /etc/neutron/api-paste.ini

		[database]
		connection = mysql+pymysql://membergate:$OS_DB_PASSWORD@127.0.0.1:$OS_MYSQL_PORT/neutron

		[oslo_concurrency]
		lock_path = $OS_DATA/lock

		[agent]
		root_helper = true

		$(keystone_authtoken neutron)
	EOC
	cat >"$OS_CONF/ml2_conf.ini" <<-EOC
		[ml2]
		type_drivers = flat,vlan,vxlan
		tenant_network_types = vxlan
		mechanism_drivers =
		extension_drivers = port_security

		[ml2_type_vxlan]
		vni_ranges = 1:1000

		[ml2_type_flat]
		flat_networks = *

		[securitygroup]
		enable_security_group = True
	EOC
	mkdir -p "$OS_DATA/neutron"
}

neutron_db_upgrade() {
	[[ -e $OS_DATA/neutron/db-upgraded ]] && return
	neutron-db-manage --config-file "$OS_CONF/neutron.conf" --config-file "$OS_CONF/ml2_conf.ini" \
		upgrade heads >"$OS_LOGS/neutron-db-manage.log" 2>&1 ||
		die "neutron-db-manage upgrade heads failed (log: $OS_LOGS/neutron-db-manage.log)"
	touch "$OS_DATA/neutron/db-upgraded"
}

# --- services by name (ctl.sh) ----------------------------------------------

# worker_consuming: the worker's amphora (v2) queue has a consumer. The worker
# must be listening before the API casts work to it: a cast to a queue that
# was never declared is dropped. Once declared, the queue outlives a stopped
# worker and keeps the work until it comes back.
worker_consuming() {
	rabbitmqctl list_queues -q name consumers 2>/dev/null | awk '$1 == "octavia_provisioning_v2" && $2 > 0 {ok = 1} END {exit !ok}'
}

octavia_api_ready() { http_ok "http://127.0.0.1:$OS_OCTAVIA_PORT/"; }
neutron_ready() { http_ok "http://127.0.0.1:$OS_NEUTRON_PORT/"; }
udp_bound() { ss -Hlun "sport = :$1" | grep -q .; }

# start_service NAME [nowait]: start one service unless it runs; wait for it
# unless told not to (then call wait_service).
start_service() {
	local svc=$1
	if is_running "$svc"; then
		return 0
	fi
	: >"$OS_LOGS/$svc.log"
	case $svc in
	mariadb) start_mariadb ;;
	epmd | rabbitmq) start_rabbitmq ;;
	keystone) start_keystone ;;
	octavia-api) spawn "$svc" /usr/bin/octavia-api --config-file "$OS_CONF/octavia.conf" ;;
	octavia-worker) spawn "$svc" /usr/bin/octavia-worker --config-file "$OS_CONF/octavia.conf" ;;
	octavia-health-manager) spawn "$svc" /usr/bin/octavia-health-manager --config-file "$OS_CONF/octavia.conf" ;;
	neutron-server)
		spawn "$svc" /usr/bin/neutron-server --config-file "$OS_CONF/neutron.conf" \
			--config-file "$OS_CONF/ml2_conf.ini"
		;;
	*) die "unknown service $svc (known: ${OS_SERVICES[*]})" ;;
	esac
	[[ ${2:-} == nowait ]] || wait_service "$svc"
}

wait_service() {
	case $1 in
	keystone) wait_until "$1" 60 keystone_ready ;;
	octavia-api) wait_until "$1" 60 octavia_api_ready ;;
	octavia-worker) wait_until "$1" 60 worker_consuming ;;
	octavia-health-manager) wait_until "$1" 60 udp_bound "$OS_HM_PORT" ;;
	neutron-server) wait_until "$1" 120 neutron_ready ;;
	esac
}

# stack_up_quick: true when every service up.sh starts runs and answers.
stack_up_quick() {
	local svc
	[[ -s $OS_ENV_FILE && -s $OS_KEYSTONE_DIR/seeded ]] || return 1
	for svc in mariadb epmd rabbitmq keystone octavia-api octavia-worker neutron-server; do
		is_running "$svc" || return 1
	done
	keystone_ready && octavia_api_ready && neutron_ready
}

# rss_mib: resident memory of every process this stack started, children
# included (their process groups), in MiB.
rss_mib() {
	local svc pid total=0 kb
	for f in "$OS_PIDS"/*.pid; do
		[[ -e $f ]] || continue
		svc=$(basename "$f" .pid)
		pid=$(pid_of "$svc") || continue
		kb=$(ps -o rss= -g "$pid" 2>/dev/null | awk '{s+=$1} END {print s+0}')
		total=$((total + kb))
	done
	echo $((total / 1024))
}

write_env_file() {
	local tmp=$OS_ENV_FILE.tmp
	cat >"$tmp" <<-EOE
		# Written by test/openstack/up.sh; read by test/conformance. KEY=VALUE, no quoting.
		OS_OCTAVIA_ENDPOINT=http://127.0.0.1:$OS_OCTAVIA_PORT/
		OS_NEUTRON_ENDPOINT=http://127.0.0.1:$OS_NEUTRON_PORT/
		OS_AUTH_URL=$OS_KEYSTONE_URL
		OS_REGION_NAME=$OS_REGION
		OS_USERNAME=$OS_MEMBER_USER
		OS_PASSWORD=$OS_MEMBER_PASSWORD
		OS_PROJECT_NAME=$OS_MEMBER_PROJECT
		OS_USER_DOMAIN_NAME=Default
		OS_PROJECT_DOMAIN_NAME=Default
		OS_ADMIN_PASSWORD=$OS_ADMIN_PASSWORD
		OS_TOKEN_EXPIRATION=$OS_TOKEN_EXPIRATION
		OS_KEYSTONE_LOG=$OS_LOGS/keystone.log
		$(cat "$OS_KEYSTONE_DIR/seeded")
		OS_DB_SOCKET=$OS_MYSQL_SOCK
		OS_DB_USER=root
		OS_DB_PASSWORD=
		OS_DB_HOST=127.0.0.1
		OS_DB_PORT=$OS_MYSQL_PORT
		OS_DB_OCTAVIA=octavia
		OS_DB_NEUTRON=neutron
		OS_CTL=$OS_DIR/ctl.sh
		OS_HM_ADDR=127.0.0.1:$OS_HM_PORT
		OS_HEARTBEAT_KEY=$OS_HEARTBEAT_KEY
		OS_LOG_DIR=$OS_LOGS
		OS_DATA=$OS_DATA
	EOE
	# It names passwords and an application-credential secret.
	chmod 600 "$tmp"
	mv "$tmp" "$OS_ENV_FILE"
}
