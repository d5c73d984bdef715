"""SQL against a database release from a client pod, through the release's Service.

The client is the postgres image itself (psql is in it), run as a restricted pod
with uid 999, the way an application pod in the same namespace connects: the
Service's DNS name, TCP, scram-sha-256 with a password. Several logins share one
pod, so a test step costs one pod start, not one per statement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from . import pods
from .kube import Kube

IMAGE = "docker.io/library/postgres:18.6-trixie"
CLIENT_SECURITY: dict[str, Any] = {
    **pods.RESTRICTED_CONTAINER,
    "runAsUser": 999,
    "runAsGroup": 999,
}
# Errors of a server that is not (yet) reachable, as opposed to one that answered:
# only these are retried, so a refused password is never retried into a pass.
_UNREACHABLE = (
    "Connection refused",
    "timeout expired",
    "could not translate host name",
    "No route to host",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "the database system is not yet accepting connections",
)
# One step of the client script: psql with ON_ERROR_STOP, the SQL on stdin, the
# password from the environment (PGPASSWORD of that step only); a server that cannot
# be reached yet is retried for a while, anything else is the step's answer.
_SCRIPT = r"""
i=0
while [ "$i" -lt "$STEPS" ]; do
  eval "user=\$USER_$i db=\$DB_$i sql=\$SQL_$i pw=\$PW_$i"
  tries=0
  while :; do
    out=$(printf '%s\n' "$sql" | PGPASSWORD="$pw" PGCONNECT_TIMEOUT=5 \
      psql -X -A -t -q -v ON_ERROR_STOP=1 -h "$HOST" -p "$PORT" -U "$user" -d "$db" 2>&1)
    rc=$?
    tries=$((tries + 1))
    case "$out" in
      @UNREACHABLE@)
        if [ "$tries" -lt 30 ]; then sleep 2; continue; fi ;;
    esac
    break
  done
  printf '%s\n' "$out"
  echo "--- step $i exit=$rc"
  i=$((i + 1))
done
""".replace("@UNREACHABLE@", "|".join(f'*"{marker}"*' for marker in _UNREACHABLE))
_STEP_END = re.compile(r"^--- step (\d+) exit=(\d+)$")


@dataclass(frozen=True)
class Login:
    """Who connects: a role, its database, and where its password comes from."""

    user: str
    password: dict[str, Any]  # an EnvVar body without the name: {"value": ...} or valueFrom
    database: str = "app"


def from_secret(secret: str, key: str) -> dict[str, Any]:
    return {"valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def literal(password: str) -> dict[str, Any]:
    return {"value": password}


@dataclass(frozen=True)
class Answer:
    exit_code: int
    output: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def refused_password(self) -> bool:
        return not self.ok and "password authentication failed" in self.output

    @property
    def lines(self) -> list[str]:
        return [line for line in self.output.splitlines() if line]

    def value(self) -> str:
        """The single value a successful query printed."""
        assert self.ok, f"psql failed (exit {self.exit_code}):\n{self.output}"
        (line,) = self.lines
        return line


def run(
    kube: Kube,
    namespace: str,
    host: str,
    steps: list[tuple[Login, str]],
    *,
    port: int = 5432,
    labels: dict[str, str] | None = None,
) -> list[Answer]:
    """Run each (login, sql) in order from one client pod; one Answer per step."""
    env: list[dict[str, Any]] = [
        {"name": "HOST", "value": host},
        {"name": "PORT", "value": str(port)},
        {"name": "STEPS", "value": str(len(steps))},
    ]
    for i, (login, sql) in enumerate(steps):
        env += [
            {"name": f"USER_{i}", "value": login.user},
            {"name": f"DB_{i}", "value": login.database},
            {"name": f"SQL_{i}", "value": sql},
            {"name": f"PW_{i}", **login.password},
        ]
    phase, output = pods.run(
        kube,
        namespace,
        _SCRIPT,
        image=IMAGE,
        security=CLIENT_SECURITY,
        env=env,
        labels=labels,
        timeout=60.0 + 70.0 * len(steps),
    )
    assert phase == "Succeeded", f"psql client pod {phase}:\n{output}"
    answers: list[Answer] = []
    block: list[str] = []
    for line in output.splitlines():
        end = _STEP_END.match(line)
        if end:
            answers.append(Answer(int(end.group(2)), "\n".join(block)))
            block = []
        else:
            block.append(line)
    assert len(answers) == len(steps), f"expected {len(steps)} answers:\n{output}"
    return answers
