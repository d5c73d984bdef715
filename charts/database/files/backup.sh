#!/bin/bash
# Backup step of the backup CronJob: one pg_dump archive (custom format) per
# database in BACKUP_DATABASES, plus the cluster's roles, under BACKUP_DIR.
# A dump is written to "<name>.partial" and renamed only after pg_dump and its
# checksum succeeded, so a crashed run never leaves a file that looks complete.
# Older dumps beyond BACKUP_RETENTION are pruned only after a successful dump.
# Connection: PGHOST/PGPORT/PGUSER from the environment; the password from the
# Secret's file CHARTHOUSE_PASSWORD_FILE, handed to libpq through a private pgpass
# file (never the environment or argv). Without it, libpq's own defaults apply.
set -Eeuo pipefail

: "${BACKUP_DIR:?BACKUP_DIR is required}"
: "${BACKUP_DATABASES:?BACKUP_DATABASES is required}"
: "${BACKUP_RETENTION:?BACKUP_RETENTION is required}"

log() { printf '%s backup: %s\n' "$(date -u +%FT%TZ)" "$*"; }

partial=""
pgpass=""
cleanup() {
	if [ -n "$partial" ]; then rm -f -- "$partial"; fi
	if [ -n "$pgpass" ]; then rm -f -- "$pgpass"; fi
}
trap cleanup EXIT

if [ -n "${CHARTHOUSE_PASSWORD_FILE:-}" ]; then
	# shellcheck source=pgpass.sh
	. "$(dirname -- "${BASH_SOURCE[0]}")/pgpass.sh"
	pgpass="$(pgpass_from_file "$CHARTHOUSE_PASSWORD_FILE")"
	export PGPASSFILE="$pgpass"
fi

# keep_newest DIR GLOB N: delete all but the N newest files matching GLOB
# (names embed a UTC timestamp, so name order is age order) and their sidecars.
keep_newest() {
	local dir="$1" pattern="$2" keep="$3" old
	while IFS= read -r old; do
		[ -n "$old" ] || continue
		log "pruning $old"
		rm -f -- "$old" "$old.sha256" "$old.verified"
	done < <(find "$dir" -maxdepth 1 -type f -name "$pattern" -printf '%f\n' | sort | head -n "-$keep" | sed "s|^|$dir/|")
}

stamp="$(date -u +%Y%m%dT%H%M%SZ)"

log "waiting for ${PGHOST:-localhost}:${PGPORT:-5432}"
pg_isready -q -t 120

mkdir -p "$BACKUP_DIR/_globals"
partial="$BACKUP_DIR/_globals/globals-$stamp.sql.partial"
pg_dumpall --globals-only --no-password --file="$partial"
mv -- "$partial" "${partial%.partial}"
partial=""
keep_newest "$BACKUP_DIR/_globals" 'globals-*.sql' "$BACKUP_RETENTION"

for db in $BACKUP_DATABASES; do
	dir="$BACKUP_DIR/$db"
	final="$dir/$db-$stamp.dump"
	partial="$final.partial"
	mkdir -p "$dir"
	log "dumping database $db"
	pg_dump --format=custom --no-password --dbname="$db" --file="$partial"
	sync -- "$partial"
	sum="$(sha256sum -- "$partial" | cut -d' ' -f1)"
	printf '%s  %s\n' "$sum" "$(basename -- "$final")" >"$final.sha256"
	mv -- "$partial" "$final"
	partial=""
	log "wrote $final ($(stat -c %s -- "$final") bytes, sha256 $sum)"
	keep_newest "$dir" "$db-*.dump" "$BACKUP_RETENTION"
done
log "done"
