#!/bin/sh
# The `helm test` check, through the Service as a client connects: a command without
# the password must be refused, and PING with the Secret's password must answer PONG.
# The password goes to valkey-cli through REDISCLI_AUTH (never its command line), read
# with its exact bytes from the mounted Secret file.
set -u

host=${CACHE_HOST:?}
port=${CACHE_PORT:?}
password_file=${CHARTHOUSE_PASSWORD_FILE:-/run/secrets/cache/password}

# Each try is bounded (`timeout`; valkey-cli before 7.2 has no connect timeout): a
# Service address nobody answers yet, as just after a reinstall re-created it, would
# otherwise hold valkey-cli past the deadline.
try_seconds=5
deadline=$(( $(date +%s) + ${CHARTHOUSE_TEST_TIMEOUT:-120} ))
while :; do
  unauthenticated=$(timeout "$try_seconds" valkey-cli -h "$host" -p "$port" PING 2>&1)
  status=$?
  case "$status:$unauthenticated" in
    124:* | *:"Could not connect"*) ;;
    *) break ;;
  esac
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "no answer from $host:$port: $unauthenticated" >&2
    exit 1
  fi
  sleep 2
done
case "$unauthenticated" in
  NOAUTH*) echo "without the password: refused ($unauthenticated)" ;;
  *) echo "without the password the server answered: $unauthenticated" >&2; exit 1 ;;
esac
REDISCLI_AUTH=$(cat "$password_file" && printf x)
REDISCLI_AUTH=${REDISCLI_AUTH%x}
export REDISCLI_AUTH
authenticated=$(timeout "$try_seconds" valkey-cli --no-auth-warning -h "$host" -p "$port" PING 2>&1)
if [ "$authenticated" != "PONG" ]; then
  echo "with the Secret's password PING answered: $authenticated" >&2
  exit 1
fi
echo "with the Secret's password: PONG"
