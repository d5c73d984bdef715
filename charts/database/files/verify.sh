#!/bin/bash
# Verify step of the backup CronJob: restores the newest dump of every
# database in BACKUP_DATABASES into a throw-away PostgreSQL server started
# inside this container (never the live one: PGHOST points at a private socket
# and no password is available here) and checks it:
#   1. the dump's sha256 matches the checksum written at backup time;
#   2. pg_restore --exit-on-error succeeds;
#   3. every table's row count in the restored database equals the number of
#      rows the dump holds for it, and no table of the dump is missing.
# Any failure exits non-zero, so the Job (and its CronJob) shows failed.
# On success "<dump>.verified" records what was checked.
set -Eeuo pipefail

: "${BACKUP_DIR:?BACKUP_DIR is required}"
: "${BACKUP_DATABASES:?BACKUP_DATABASES is required}"
scratch="${SCRATCH_DIR:-/scratch}"

log() { printf '%s verify: %s\n' "$(date -u +%FT%TZ)" "$*"; }
die() { log "FAILED: $*"; exit 1; }

unset PGPASSWORD PGSERVICE PGDATABASE
export PGHOST="$scratch/run" PGPORT=5432 PGUSER=postgres

stop_server() {
	if [ -f "$scratch/data/postmaster.pid" ]; then
		pg_ctl -D "$scratch/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
}
trap stop_server EXIT

log "starting scratch server in $scratch"
rm -rf -- "$scratch/data" "$scratch/run"
mkdir -p "$scratch/run"
initdb -D "$scratch/data" -U postgres --auth=trust --no-sync >"$scratch/initdb.log" 2>&1 \
	|| { cat "$scratch/initdb.log"; die "initdb of the scratch server"; }
pg_ctl -D "$scratch/data" -l "$scratch/server.log" -w -t 120 \
	-o "-c listen_addresses='' -c unix_socket_directories=$scratch/run -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c shared_buffers=32MB -c dynamic_shared_memory_type=mmap" \
	start >/dev/null || { cat "$scratch/server.log"; die "start of the scratch server"; }

# rows_in_dump DUMP: "<table>\t<rows>" for every table with data in DUMP
# (COPY blocks of the data section; one line per row in COPY text format).
rows_in_dump() {
	pg_restore --data-only --file=- -- "$1" | awk '
		inside { if ($0 == "\\.") { print table "\t" rows; inside = 0 } else { rows++ }; next }
		/^COPY .* FROM stdin;$/ {
			table = $0
			sub(/^COPY /, "", table)
			sub(/ \(.*\) FROM stdin;$/, "", table)
			sub(/ FROM stdin;$/, "", table)
			rows = 0; inside = 1
		}'
}

for db in $BACKUP_DATABASES; do
	dir="$BACKUP_DIR/$db"
	newest="$(find "$dir" -maxdepth 1 -type f -name "$db-*.dump" -printf '%f\n' 2>/dev/null | sort | tail -n 1)"
	[ -n "$newest" ] || die "no dump of database $db in $dir"
	dump="$dir/$newest"
	log "checking $dump"

	[ -f "$dump.sha256" ] || die "$dump has no checksum file"
	(cd -- "$dir" && sha256sum --check --status -- "$newest.sha256") || die "$dump does not match its sha256 (corrupt or truncated)"

	scratch_db="verify_$(date -u +%s)"
	createdb -T template0 -- "$scratch_db"
	pg_restore --exit-on-error --no-owner --no-privileges --dbname="$scratch_db" -- "$dump" \
		|| die "pg_restore of $dump"

	expected_tables="$(pg_restore --list -- "$dump" | awk '$4 == "TABLE" && $5 !~ /^(DATA|ATTACH)$/' | wc -l)"
	restored_tables="$(psql -X -A -t -q -d "$scratch_db" -c "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'")"
	((restored_tables >= expected_tables)) || die "$dump defines $expected_tables tables, only $restored_tables were restored"

	rows_in_dump "$dump" >"$scratch/rows.tsv" || die "reading the data section of $dump"
	checked=0 total_rows=0
	while IFS=$'\t' read -r table expected; do
		[ -n "$table" ] || continue
		actual="$(psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$scratch_db" -c "SELECT count(*) FROM ONLY $table")" \
			|| die "cannot read restored table $table"
		[ "$actual" = "$expected" ] || die "table $table: dump holds $expected rows, restore has $actual"
		checked=$((checked + 1))
		total_rows=$((total_rows + actual))
	done <"$scratch/rows.tsv"

	dropdb -- "$scratch_db"
	printf 'verified_at=%s\ntables=%s\ntables_with_data=%s\nrows=%s\n' \
		"$(date -u +%FT%TZ)" "$restored_tables" "$checked" "$total_rows" >"$dump.verified"
	log "OK $dump: $restored_tables tables, $checked with data, $total_rows rows match"
done
log "done"
