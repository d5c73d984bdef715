#!/bin/sh
# Starts valkey-server with the password from the mounted Secret.
#
# Valkey cannot read requirepass from a file, so this script reads the file and hands
# the server one config line on standard input (`valkey-server <conf> -` appends stdin
# to the config file). The password is never in the pod spec, an environment variable,
# a command line or a file the server writes: only in the Secret volume and in the
# server's memory. Every byte is written as a \xHH escape inside double quotes, so any
# password the Secret holds, quotes and spaces included, reaches the server unchanged.
# The file is read at every container start: a restart applies a rotated Secret.
set -eu

password_file=${CHARTHOUSE_PASSWORD_FILE:-/run/secrets/cache/password}
config_file=${CHARTHOUSE_CONFIG_FILE:-/etc/valkey/valkey.conf}

if [ ! -r "$password_file" ]; then
  echo "cache: cannot read the password file $password_file (is the Secret's key auth.secretKeys.passwordKey there?)" >&2
  exit 1
fi
size=$(wc -c < "$password_file")
if [ "$size" -eq 0 ]; then
  echo "cache: the password file $password_file is empty; refusing to start without a password" >&2
  exit 1
fi
if [ "$(tr -d '\000' < "$password_file" | wc -c)" -ne "$size" ]; then
  echo "cache: the password in $password_file contains a NUL byte, which clients cannot send" >&2
  exit 1
fi

escaped=$(od -An -v -tx1 "$password_file" | tr -d ' \n' | sed 's/../\\x&/g')
exec valkey-server "$config_file" - <<CONFIG
requirepass "$escaped"
CONFIG
