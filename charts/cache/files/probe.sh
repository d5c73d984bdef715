#!/bin/sh
# The Valkey container's probes: `probe.sh live` and `probe.sh ready`.
#
# Both send an authenticated PING to the server inside the pod. The password goes to
# valkey-cli through REDISCLI_AUTH (its environment, never its command line), with the
# file's exact bytes, trailing newlines included, as start.sh gave them to the server.
#   live:  the server answers: PONG, or LOADING (still reading the append-only file) or
#          BUSY (running a long script). A refused connection, a timeout or a refused
#          password fail; a restart re-reads the Secret (start.sh), so a rotated
#          password is applied by the kubelet's restart.
#   ready: PONG only: data loaded and the Secret's password accepted.
set -u

mode=${1:-}
password_file=${CHARTHOUSE_PASSWORD_FILE:-/run/secrets/cache/password}
port=${CHARTHOUSE_PORT:-6379}

case "$mode" in
  live | ready) ;;
  *)
    echo "usage: probe.sh live|ready" >&2
    exit 2
    ;;
esac

REDISCLI_AUTH=$(cat "$password_file" && printf x) || exit 1
REDISCLI_AUTH=${REDISCLI_AUTH%x}
export REDISCLI_AUTH

reply=$(valkey-cli --no-auth-warning -h 127.0.0.1 -p "$port" PING 2>&1)
case "$mode:$reply" in
  *:PONG) exit 0 ;;
  live:LOADING* | live:BUSY*) exit 0 ;;
esac
# The kubelet shows this in the pod's events.
echo "cache $mode probe: PING answered: $reply" >&2
exit 1
