#!/usr/bin/env bash
# Entrypoint of charthouse's postgres image. Written for charthouse; it follows
# the documented contract of the official image (docker.io/library/postgres) so
# charts and init scripts written for that image work unchanged:
#
#   POSTGRES_PASSWORD     superuser password (required unless
#                         POSTGRES_HOST_AUTH_METHOD=trust)
#   POSTGRES_USER         superuser name (default postgres)
#   POSTGRES_DB           database created at init (default: POSTGRES_USER)
#   POSTGRES_INITDB_ARGS  extra initdb arguments (space separated)
#   POSTGRES_INITDB_WALDIR  WAL directory (initdb --waldir)
#   POSTGRES_HOST_AUTH_METHOD  method of the "host all all all" pg_hba line
#                         (default: the server's password_encryption)
#   *_FILE                each of the above read from a file (Kubernetes Secrets)
#   PGDATA                data directory (default /var/lib/postgresql/18/docker)
#   /docker-entrypoint-initdb.d/  run once on an empty PGDATA, in name order:
#                         *.sh (executed if executable, else sourced), *.sql,
#                         *.sql.gz, *.sql.xz, *.sql.zst (through psql)
#
# `postgres` is the default command; arguments starting with "-" are passed to
# it. Started as root, it prepares the directories and re-executes itself as
# postgres (uid 999); started as any other user it needs only its volumes to be
# writable (the root filesystem may be read-only).
#
# Sourced init scripts can call docker_process_sql (psql as POSTGRES_USER into
# POSTGRES_DB, with ON_ERROR_STOP) and docker_process_init_files, as with the
# official image.
set -Eeuo pipefail

log() { printf '%s\n' "$*"; }
die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# env_or_file VAR [DEFAULT]: VAR from the environment, or read from the file
# named by VAR_FILE; setting both is an error.
env_or_file() {
	local var="$1" file_var="$1_FILE" default="${2:-}" value
	if [[ -n "${!var:-}" && -n "${!file_var:-}" ]]; then
		die "both $var and $file_var are set, but they exclude each other"
	fi
	value="$default"
	if [[ -n "${!var:-}" ]]; then
		value="${!var}"
	elif [[ -n "${!file_var:-}" ]]; then
		[[ -r "${!file_var}" ]] || die "$file_var: cannot read ${!file_var}"
		value="$(<"${!file_var}")"
	fi
	export "$var=$value"
	unset "$file_var"
}

# wants_help ARGS...: true when postgres is asked to print something and exit,
# so no data directory is touched.
wants_help() {
	local arg
	for arg; do
		case "$arg" in
			-'?' | --help | --describe-config | -V | --version) return 0 ;;
		esac
	done
	return 1
}

load_env() {
	env_or_file POSTGRES_PASSWORD
	env_or_file POSTGRES_USER postgres
	env_or_file POSTGRES_DB "$POSTGRES_USER"
	env_or_file POSTGRES_INITDB_ARGS
	: "${POSTGRES_HOST_AUTH_METHOD:=}"
	DATABASE_ALREADY_EXISTS=
	if [[ -s "$PGDATA/PG_VERSION" ]]; then
		DATABASE_ALREADY_EXISTS=true
	fi
}

# Create PGDATA (and the WAL dir) as the current user; owned by postgres when run as root.
create_directories() {
	mkdir -p "$PGDATA"
	chmod 00700 "$PGDATA" 2>/dev/null || true
	mkdir -p /var/run/postgresql 2>/dev/null || true
	chmod 03775 /var/run/postgresql 2>/dev/null || true
	if [[ -n "${POSTGRES_INITDB_WALDIR:-}" ]]; then
		mkdir -p "$POSTGRES_INITDB_WALDIR"
		chmod 00700 "$POSTGRES_INITDB_WALDIR" 2>/dev/null || true
	fi
	if [[ "$(id -u)" == 0 ]]; then
		find "$PGDATA" \! -user postgres -exec chown postgres: '{}' +
		chown postgres: /var/run/postgresql 2>/dev/null || true
		if [[ -n "${POSTGRES_INITDB_WALDIR:-}" ]]; then
			find "$POSTGRES_INITDB_WALDIR" \! -user postgres -exec chown postgres: '{}' +
		fi
	fi
}

# Since 18 the data lives in /var/lib/postgresql/<major>/docker. Data left at
# the pre-18 location means an upgrade without pg_upgrade: refuse to start an
# empty cluster beside it.
refuse_old_layout() {
	local old=/var/lib/postgresql/data
	if [[ "$PGDATA" != "$old" && -s "$old/PG_VERSION" && -z "$DATABASE_ALREADY_EXISTS" ]]; then
		die "PostgreSQL data found in $old (the layout before 18), but PGDATA is $PGDATA.
       Upgrade it with pg_upgrade, or mount the volume at /var/lib/postgresql and
       keep the data in /var/lib/postgresql/$PG_MAJOR/docker."
	fi
}

# initdb needs the current uid to have a name; give an unknown uid one through nss_wrapper.
ensure_user_name() {
	if id -un >/dev/null 2>&1; then
		return
	fi
	local wrapper
	wrapper="$(find /usr/lib -name libnss_wrapper.so -print -quit 2>/dev/null || true)"
	[[ -n "$wrapper" ]] || die "uid $(id -u) has no passwd entry and nss_wrapper is missing"
	NSS_WRAPPER_PASSWD="$(mktemp)"
	NSS_WRAPPER_GROUP="$(mktemp)"
	printf 'postgres:x:%s:%s:PostgreSQL:%s:/bin/false\n' "$(id -u)" "$(id -g)" "$PGDATA" >"$NSS_WRAPPER_PASSWD"
	printf 'postgres:x:%s:\n' "$(id -g)" >"$NSS_WRAPPER_GROUP"
	export LD_PRELOAD="$wrapper" NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
}

forget_user_name() {
	if [[ -n "${NSS_WRAPPER_PASSWD:-}" ]]; then
		rm -f "$NSS_WRAPPER_PASSWD" "$NSS_WRAPPER_GROUP"
		unset LD_PRELOAD NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
	fi
}

require_password() {
	if [[ -n "$POSTGRES_PASSWORD" || "$POSTGRES_HOST_AUTH_METHOD" == trust ]]; then
		return
	fi
	die "the database is uninitialized and no superuser password is set.
       Set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE) to a non-empty value.
       To allow every connection without a password (never in production), set
       POSTGRES_HOST_AUTH_METHOD=trust."
}

init_database_dir() {
	local -a args=(--username="$POSTGRES_USER")
	if [[ -n "${POSTGRES_INITDB_WALDIR:-}" ]]; then
		args+=(--waldir="$POSTGRES_INITDB_WALDIR")
	fi
	ensure_user_name
	# POSTGRES_INITDB_ARGS is a space-separated list by contract: split it on purpose.
	# shellcheck disable=SC2086
	if [[ -n "$POSTGRES_PASSWORD" ]]; then
		initdb "${args[@]}" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") $POSTGRES_INITDB_ARGS "$@"
	else
		initdb "${args[@]}" $POSTGRES_INITDB_ARGS "$@"
	fi
	forget_user_name
	# The socket directory of Debian's build (and so of the official image); this
	# build's compiled-in default is /tmp, which initdb writes into the file.
	printf "\nunix_socket_directories = '/var/run/postgresql'\n" >>"$PGDATA/postgresql.conf"
}

# append_hba_rule SERVER_ARGS...: the "host all all all" line of pg_hba.conf in PGDATA.
append_hba_rule() {
	local method="$POSTGRES_HOST_AUTH_METHOD"
	if [[ -z "$method" ]]; then
		method="$(postgres -C password_encryption "$@")"
	fi
	if [[ "$method" == trust ]]; then
		log "warning: POSTGRES_HOST_AUTH_METHOD=trust lets every client connect without a password"
	fi
	printf '\nhost all all all %s\n' "$method" >>"$PGDATA/pg_hba.conf"
}

# A server for the init scripts: the socket only, so nothing outside the
# container sees a half-initialised database (and probes over TCP wait).
temp_server_start() {
	local options
	options="$(printf '%q ' "$@") -c listen_addresses='' -p ${PGPORT:-5432}"
	PGUSER="${PGUSER:-$POSTGRES_USER}" pg_ctl -D "$PGDATA" -o "$options" -w start
}

temp_server_stop() {
	PGUSER="${PGUSER:-$POSTGRES_USER}" pg_ctl -D "$PGDATA" -m fast -w stop
}

# docker_process_sql [PSQL ARGS...]: psql as the superuser into POSTGRES_DB
# (or --dbname), stopping on the first error. Kept under the official name
# because init scripts written for that image call it.
docker_process_sql() {
	local -a query_runner=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
	if [[ -n "$POSTGRES_DB" ]]; then
		query_runner+=(--dbname "$POSTGRES_DB")
	fi
	# the server's socket, never a PGHOST meant for clients elsewhere
	PGHOST=/var/run/postgresql PGHOSTADDR='' "${query_runner[@]}" "$@"
}

create_database() {
	if [[ "$POSTGRES_DB" == postgres ]]; then
		return
	fi
	local exists
	exists="$(POSTGRES_DB='' docker_process_sql --dbname postgres --set db="$POSTGRES_DB" --tuples-only <<-'EOSQL'
		SELECT 1 FROM pg_database WHERE datname = :'db';
	EOSQL
	)"
	if [[ -z "${exists// /}" ]]; then
		POSTGRES_DB='' docker_process_sql --dbname postgres --set db="$POSTGRES_DB" <<-'EOSQL'
			CREATE DATABASE :"db";
		EOSQL
		log
	fi
}

# docker_process_init_files FILES...: run each init file by its kind.
docker_process_init_files() {
	local f
	log
	for f; do
		case "$f" in
			*.sh)
				if [[ -x "$f" ]]; then
					log "$0: running $f"
					"$f"
				else
					log "$0: sourcing $f"
					# shellcheck disable=SC1090
					. "$f"
				fi
				;;
			*.sql)
				log "$0: running $f"
				docker_process_sql -f "$f"
				log
				;;
			*.sql.gz)
				log "$0: running $f"
				gunzip -c "$f" | docker_process_sql
				log
				;;
			*.sql.xz)
				log "$0: running $f"
				xzcat "$f" | docker_process_sql
				log
				;;
			*.sql.zst)
				log "$0: running $f"
				zstd -dc "$f" | docker_process_sql
				log
				;;
			*) log "$0: ignoring $f" ;;
		esac
	done
}

main() {
	if [[ $# -eq 0 || "${1:0:1}" == - ]]; then
		set -- postgres "$@"
	fi
	if [[ "$1" != postgres ]] || wants_help "$@"; then
		exec "$@"
	fi

	load_env
	create_directories
	if [[ "$(id -u)" == 0 ]]; then
		exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
	fi

	refuse_old_layout
	if [[ -n "$DATABASE_ALREADY_EXISTS" ]]; then
		log
		log "PostgreSQL Database directory appears to contain a database; Skipping initialization"
		log
		exec "$@"
	fi

	require_password
	shift # the server arguments, without "postgres"
	init_database_dir
	append_hba_rule "$@"
	export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
	temp_server_start "$@"
	create_database
	shopt -s nullglob
	docker_process_init_files /docker-entrypoint-initdb.d/*
	shopt -u nullglob
	temp_server_stop
	unset PGPASSWORD
	log
	log "PostgreSQL init process complete; ready for start up."
	log
	exec postgres "$@"
}

# Sourced (by a test or another script): only define the functions.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	main "$@"
fi
