#!/bin/sh
# The stack's `helm test` check of REDIS_URL: with the URL exactly as the app gets it
# (the same secretKeyRef), the cache at its host and port must accept its password.
# The URL is taken apart here so the password goes to valkey-cli through REDISCLI_AUTH,
# never on its command line: redis://[user]:password@host:port/db, percent-decoded.
set -u

url=${REDIS_URL:-}
case "$url" in
  redis://*:*@*) ;;
  "") echo "REDIS_URL is not set: the app would run without the cache" >&2; exit 1 ;;
  *) echo "REDIS_URL is not redis://[user]:password@host:port/db" >&2; exit 1 ;;
esac

# Percent-decoding in POSIX sh: each %HH becomes the byte with that value.
urldecode() {
  rest=$1
  out=
  while [ -n "$rest" ]; do
    case "$rest" in
      %[0-9A-Fa-f][0-9A-Fa-f]*)
        hex=${rest#%}
        hex=${hex%"${hex#??}"}
        out=$out$(printf "\\$(printf '%03o' "0x$hex")" && printf x)
        out=${out%x}
        rest=${rest#%??}
        ;;
      *)
        out=$out${rest%"${rest#?}"}
        rest=${rest#?}
        ;;
    esac
  done
  printf '%s' "$out"
}

rest=${url#redis://}
userinfo=${rest%@*}
address=${rest##*@}
hostport=${address%%/*}
database=${address#"$hostport"}
database=${database#/}
host=${hostport%:*}
port=${hostport##*:}
REDISCLI_AUTH=$(urldecode "${userinfo#*:}" && printf x)
REDISCLI_AUTH=${REDISCLI_AUTH%x}
export REDISCLI_AUTH
user=$(urldecode "${userinfo%%:*}")

set -- --no-auth-warning -h "$host" -p "$port" -n "${database:-0}"
if [ -n "$user" ]; then
  set -- "$@" --user "$user"
fi

deadline=$(( $(date +%s) + ${CHARTHOUSE_TEST_TIMEOUT:-120} ))
# Each try is bounded (`timeout`), so the deadline holds even while the cache's
# Service address answers nothing yet.
until reply=$(timeout 5 valkey-cli "$@" PING 2>&1) && [ "$reply" = "PONG" ]; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "REDIS_URL (host $host, port $port, db ${database:-0}): PING answered: $reply" >&2
    exit 1
  fi
  sleep 2
done
echo "REDIS_URL reaches the cache at $host:$port (db ${database:-0}) with its password: PONG"
