#!/bin/bash
# postStart hook of the postgres container. The official image applies
# POSTGRES_PASSWORD only when it initialises an empty data directory, so a
# Secret that changed later (a reinstall over a retained volume, a rotated
# auth.password) would never reach the database and clients would get
# "password authentication failed". This hook makes the roles' passwords equal
# the Secret's on every start. It connects over the container-local socket
# (pg_hba "local ... trust"), so it works even when the stored password is the
# old one. It never fails the container: problems are logged and it exits 0.
# The passwords come from the Secret's files (POSTGRES_PASSWORD_FILE, and
# CHARTHOUSE_APP_PASSWORD_FILE for the application role), as the image's own
# entrypoint reads them.
set -uo pipefail
# Write into the container log (PID 1 is postgres, same uid) so the outcome is
# visible with `kubectl logs`; hook output is otherwise discarded.
{ exec >/proc/1/fd/1 2>&1; } 2>/dev/null || true

socket_dir="${CHARTHOUSE_SOCKET_DIR:-/var/run/postgresql}"
port="${PGPORT:-5432}"
deadline=$((SECONDS + ${CHARTHOUSE_SYNC_TIMEOUT:-900}))
# Wait for the TCP listener: it only opens after initdb and init scripts are
# done (the image's temporary init server listens on the socket only).
until pg_isready -q -h 127.0.0.1 -p "$port"; do
	if ((SECONDS >= deadline)); then
		echo "charthouse: password sync skipped: server not accepting connections after ${CHARTHOUSE_SYNC_TIMEOUT:-900}s"
		exit 0
	fi
	sleep 2
done

if ! admin_password="$(<"${POSTGRES_PASSWORD_FILE:?}")"; then
	echo "charthouse: password sync skipped: cannot read ${POSTGRES_PASSWORD_FILE}"
	exit 0
fi
app_password=""
if [ -n "${CHARTHOUSE_APP_PASSWORD_FILE:-}" ] && ! app_password="$(<"$CHARTHOUSE_APP_PASSWORD_FILE")"; then
	echo "charthouse: password sync skipped: cannot read ${CHARTHOUSE_APP_PASSWORD_FILE}"
	exit 0
fi

if psql -X -q -v ON_ERROR_STOP=1 -h "$socket_dir" -p "$port" -U postgres -d postgres \
	--set admin_password="$admin_password" \
	--set app_user="${CHARTHOUSE_APP_USERNAME:-}" \
	--set app_password="$app_password" <<-'EOSQL'
	SET log_statement = 'none';
	SET log_min_duration_statement = -1;
	ALTER ROLE postgres PASSWORD :'admin_password';
	SELECT format('ALTER ROLE %I PASSWORD %L', :'app_user', :'app_password')
	WHERE :'app_user' <> '' AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app_user')
	\gexec
EOSQL
then
	echo "charthouse: role passwords synchronised with the Secret"
else
	echo "charthouse: password sync failed (is local socket access allowed in pg_hba?); roles keep their stored passwords"
fi
exit 0
