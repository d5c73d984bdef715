#!/bin/sh
# Entrypoint of charthouse's traefik image (our own), with the official image's
# behaviour: options (`--configFile=...`) and Traefik subcommands (`version`,
# `healthcheck`) run traefik; anything else runs as a command.
set -e

if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
	set -- traefik "$@"
elif [ "$1" != traefik ] && traefik "$1" --help >/dev/null 2>&1; then
	set -- traefik "$@"
fi

exec "$@"
