# Sourced (not executed) by the image's docker-entrypoint.sh, once, on an empty
# data directory and before the scripts of initdb.scripts: it creates the
# application role and makes it the owner of POSTGRES_DB, so the application
# never holds superuser rights. psql variables (:"user", :'password') quote the
# values, so any role name or password is safe here. The password comes from the
# Secret's file (CHARTHOUSE_APP_PASSWORD_FILE), never from the pod's environment.
if [ -n "${CHARTHOUSE_APP_USERNAME:-}" ]; then
	printf 'charthouse: creating role "%s", owner of database "%s"\n' "$CHARTHOUSE_APP_USERNAME" "$POSTGRES_DB"
	docker_process_sql --dbname postgres \
		--set user="$CHARTHOUSE_APP_USERNAME" \
		--set password="$(<"$CHARTHOUSE_APP_PASSWORD_FILE")" \
		--set db="$POSTGRES_DB" <<-'EOSQL'
		SET log_statement = 'none';
		SET log_min_duration_statement = -1;
		CREATE ROLE :"user" LOGIN PASSWORD :'password';
		ALTER DATABASE :"db" OWNER TO :"user";
	EOSQL
fi
