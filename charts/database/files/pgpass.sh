# Sourced by the chart's scripts. pgpass_from_file PASSWORD_FILE: writes a private
# (0600) pgpass file that gives libpq that password for every connection, prints its
# path, and leaves removing it to the caller. The password stays out of the
# environment and the command line; ':' and '\' are escaped as pgpass requires.
pgpass_from_file() {
	local password pgpass
	password="$(<"$1")" || return 1
	pgpass="$(mktemp "${TMPDIR:-/tmp}/charthouse-pgpass.XXXXXX")" || return 1
	password="${password//\\/\\\\}"
	printf '*:*:*:*:%s\n' "${password//:/\\:}" >"$pgpass"
	printf '%s\n' "$pgpass"
}
