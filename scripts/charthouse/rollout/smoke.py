"""The smoke-test pod: one HTTP request to a Service of the release, from inside the cluster.

The pod is the chart's own ``helm test`` pod with another command: the chart decides
the image, pull secrets and the restricted security context (one owner for what a
test pod looks like), so the smoke test runs wherever ``helm test`` may. The request
is written with ``nc`` (busybox ``wget`` cannot report a status it was not expecting,
and segfaults on some hosts); the verdict is the pod's exit status, and the reason its
termination message.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from charthouse.errors import CharthouseError

Obj = dict[str, Any]
COMPONENT = "rollout-smoke"
TEST_HOOKS = ("test", "test-success")
# Extra seconds the pod may take to start (image pull) on top of the test's own timeout.
START_SECONDS = 120

# Values come in through the environment, never spliced into the script.
SCRIPT = r"""
url="http://${SMOKE_HOST}:${SMOKE_PORT}${SMOKE_PATH}"
result="${SMOKE_RESULT:-/dev/termination-log}"
deadline=$(( $(date +%s) + SMOKE_TIMEOUT ))
while :; do
  line=$(printf 'GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: %s\r\nConnection: close\r\n\r\n' \
      "$SMOKE_PATH" "$SMOKE_HOST" charthouse-rollout-smoke \
    | nc -w 5 "$SMOKE_HOST" "$SMOKE_PORT" 2>/dev/null | head -n 1 | tr -d '\r')
  code=${line#* }
  code=${code%% *}
  case "$code" in
    [1-5][0-9][0-9]) break ;;
  esac
  if [ "$(date +%s)" -ge "$deadline" ]; then
    msg="no HTTP answer from $url within ${SMOKE_TIMEOUT}s"
    echo "$msg"; echo "$msg" > "$result"; exit 1
  fi
  sleep 1
done
msg="HTTP $code from $url (expected $SMOKE_EXPECT)"
echo "$msg"; echo "$msg" > "$result"
[ "$code" = "$SMOKE_EXPECT" ]
"""


@dataclass(frozen=True)
class Request:
    host: str
    port: int
    path: str
    expected_status: int
    timeout_seconds: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.path}"


def test_pod_template(hooks: Sequence[Obj]) -> Obj:
    """The release's ``helm test`` pod (the template of the smoke pod)."""
    for hook in hooks:
        annotations = hook.get("metadata", {}).get("annotations") or {}
        if hook.get("kind") == "Pod" and annotations.get("helm.sh/hook") in TEST_HOOKS:
            return hook
    raise CharthouseError(
        "rollout.gates.smokeTest: the release has no `helm test` pod to run the smoke test "
        "with; set rollout.gates.smokeTest.enabled=false or upgrade the chart"
    )


def pod(template: Obj, release: str, request: Request) -> Obj:
    """A fresh smoke-test pod from the test pod ``template``."""
    spec = copy.deepcopy(template["spec"])
    container = spec["containers"][0]
    container.update(
        name="smoke",
        command=["sh", "-c", SCRIPT],
        args=[],
        env=[
            {"name": "SMOKE_HOST", "value": request.host},
            {"name": "SMOKE_PORT", "value": str(request.port)},
            {"name": "SMOKE_PATH", "value": request.path},
            {"name": "SMOKE_EXPECT", "value": str(request.expected_status)},
            {"name": "SMOKE_TIMEOUT", "value": str(request.timeout_seconds)},
        ],
        terminationMessagePolicy="FallbackToLogsOnError",
    )
    spec["containers"] = [container]
    spec["restartPolicy"] = "Never"
    spec["activeDeadlineSeconds"] = request.timeout_seconds + START_SECONDS
    spec["automountServiceAccountToken"] = False
    name = f"{release}-smoke-{secrets.token_hex(3)}"[-63:].lstrip("-")
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "labels": {
                "app.kubernetes.io/instance": release,
                "app.kubernetes.io/managed-by": "charthouse",
                "app.kubernetes.io/component": COMPONENT,
            },
        },
        "spec": spec,
    }


def verdict(pod_obj: Obj) -> tuple[bool, str] | None:
    """(passed, reason) once the pod has finished; None while it runs."""
    status = pod_obj.get("status", {})
    phase = status.get("phase")
    if phase not in ("Succeeded", "Failed"):
        return None
    message = status.get("message") or ""
    for container in status.get("containerStatuses") or []:
        terminated = (container.get("state") or {}).get("terminated") or {}
        if terminated:
            message = (terminated.get("message") or "").strip() or (
                f"exit code {terminated.get('exitCode')} ({terminated.get('reason', '')})"
            )
    return phase == "Succeeded", message or phase


def waiting_reason(pod_obj: Obj) -> str:
    """Why a pod that has not finished is not running yet (for a timeout's message)."""
    status = pod_obj.get("status", {})
    for container in status.get("containerStatuses") or []:
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting:
            return f"{waiting.get('reason', '')}: {waiting.get('message', '')}".strip(": ")
    return str(status.get("phase", "Pending"))
