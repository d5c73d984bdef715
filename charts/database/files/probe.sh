#!/bin/bash
# Liveness and readiness probes of the postgres container; two different questions.
#
#   probe.sh live
#     Is the server process alive? The postmaster answers on its local socket.
#     "Rejecting connections" (starting up, crash recovery, shutting down) counts
#     as alive: killing a server in recovery only starts the recovery again.
#   probe.sh ready USER DATABASE PASSWORD_FILE
#     Does the server accept the application's connections? A real login over TCP
#     (the path clients take, scram-sha-256) as USER to DATABASE with the password
#     from the Secret's file. Fails on a password the data does not accept, a
#     missing role or database, or a server that refuses connections.
#
# The password travels from the file to libpq through a private pgpass file, never
# through the environment or the command line.
set -uo pipefail
port="${PGPORT:-5432}"
socket_dir="${CHARTHOUSE_SOCKET_DIR:-/var/run/postgresql}"

case "${1:-}" in
live)
	pg_isready -q -h "$socket_dir" -p "$port"
	status=$?
	# 0 accepting, 1 rejecting (alive but busy), 2 no response, 3 no attempt
	[ "$status" -eq 0 ] || [ "$status" -eq 1 ]
	;;
ready)
	user="${2:?usage: probe.sh ready USER DATABASE PASSWORD_FILE}"
	database="${3:?usage: probe.sh ready USER DATABASE PASSWORD_FILE}"
	password_file="${4:?usage: probe.sh ready USER DATABASE PASSWORD_FILE}"
	# shellcheck source=pgpass.sh
	. "$(dirname -- "${BASH_SOURCE[0]}")/pgpass.sh"
	pgpass="$(pgpass_from_file "$password_file")" || exit 1
	trap 'rm -f -- "$pgpass"' EXIT
	PGPASSFILE="$pgpass" PGCONNECT_TIMEOUT="${CHARTHOUSE_PROBE_TIMEOUT:-3}" \
		psql -X -q -w -h 127.0.0.1 -p "$port" -U "$user" -d "$database" -tAc 'SELECT 1' >/dev/null
	;;
*)
	echo "usage: probe.sh live | probe.sh ready USER DATABASE PASSWORD_FILE" >&2
	exit 3
	;;
esac
