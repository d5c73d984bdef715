#!/bin/sh
# Entrypoint of charthouse's valkey image (our own), with the upstream image's
# behaviour: arguments that are options or a *.conf file go to valkey-server;
# as root it hands /data to valkey and re-executes itself as uid 999; files it
# creates are private (umask 0077 unless one was set); VALKEY_EXTRA_FLAGS is
# appended to the server's arguments.
#
# Difference kept small on purpose: upstream compiles protected mode off, while
# Debian's build defaults it on. Without a config file the server gets
# `--protected-mode no` (unless the arguments set it), as upstream behaves; a
# config file decides for itself.
set -eu

if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
	set -- valkey-server "$@"
fi

if [ "$1" = valkey-server ] && [ "$(id -u)" = 0 ]; then
	find . \! -user valkey -exec chown valkey '{}' +
	exec setpriv --reuid=valkey --regid=valkey --clear-groups -- "$0" "$@"
fi

if [ "$(umask)" = 0022 ]; then
	umask 0077
fi

if [ "$1" = valkey-server ]; then
	shift
	case "${1:-}" in
	*.conf) ;;
	*)
		case " $* " in
		*" --protected-mode "*) ;;
		*) set -- --protected-mode no "$@" ;;
		esac
		;;
	esac
	# VALKEY_EXTRA_FLAGS is a space-separated list: split it on purpose.
	# shellcheck disable=SC2086
	set -- valkey-server "$@" ${VALKEY_EXTRA_FLAGS:-}
fi

exec "$@"
