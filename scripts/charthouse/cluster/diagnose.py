"""Why pods are not ready, in one line per pod a human can act on.

"timed out waiting for the condition" is all ``helm install --wait`` says, and
what chart-testing users complain about (chart-testing#318, #197). The answer is
in the pods' status and events: an image that cannot be pulled, a container that
exits (and what it printed), a probe that fails (which one, and its last
message), a pod that cannot be scheduled. These are pure functions over the
objects the API server returns, so any client can feed them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

Obj = dict[str, Any]
LogReader = Callable[[str, str, bool], str]  # (pod, container, previous) -> log text

_LOG_LINES = 5


def _ready(pod: Obj) -> bool:
    status = pod.get("status") or {}
    if status.get("phase") == "Succeeded":
        return True
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )


def _probe_text(probe: Obj | None) -> str:
    """``httpGet :8080/health/ready`` / ``tcpSocket :5432`` / ``exec pg_isready ...``."""
    if not probe:
        return "probe"
    if "httpGet" in probe:
        get = probe["httpGet"]
        scheme = get.get("scheme", "HTTP").lower()
        return f"httpGet {scheme}://:{get.get('port')}{get.get('path', '/')}"
    if "tcpSocket" in probe:
        return f"tcpSocket :{probe['tcpSocket'].get('port')}"
    if "grpc" in probe:
        return f"grpc :{probe['grpc'].get('port')}"
    if "exec" in probe:
        return "exec " + " ".join(probe["exec"].get("command") or [])[:80]
    return "probe"


def _tail(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines[-_LOG_LINES:])


def _events_for(pod: Obj, events: Iterable[Obj]) -> list[Obj]:
    name = pod["metadata"]["name"]
    return [
        e
        for e in events
        if (e.get("involvedObject") or {}).get("kind") == "Pod"
        and (e.get("involvedObject") or {}).get("name") == name
    ]


def _container_problems(
    pod: Obj, status: Obj, spec: Obj, kind: str, logs: LogReader | None
) -> list[str]:
    name, pod_name = status.get("name", "?"), pod["metadata"]["name"]
    state = status.get("state") or {}
    last = (status.get("lastState") or {}).get("terminated")
    problems = []
    waiting = state.get("waiting")
    if waiting and waiting.get("reason") not in (None, "ContainerCreating", "PodInitializing"):
        detail = f"{kind} {name}: {waiting['reason']}"
        if waiting.get("message"):
            detail += f": {waiting['message']}"
        if last:
            detail += f"; last exit {last.get('exitCode')} ({last.get('reason', '')})"
        if logs is not None and waiting["reason"] in ("CrashLoopBackOff", "RunContainerError"):
            printed = _tail(logs(pod_name, name, True))
            if printed:
                detail += f"; it printed: {printed}"
        problems.append(detail)
    terminated = state.get("terminated")
    if terminated and terminated.get("exitCode", 0) != 0:
        detail = (
            f"{kind} {name}: exited {terminated.get('exitCode')} ({terminated.get('reason', '')})"
        )
        if logs is not None:
            printed = _tail(logs(pod_name, name, False))
            if printed:
                detail += f"; it printed: {printed}"
        problems.append(detail)
    return problems


def explain_pod(pod: Obj, events: Iterable[Obj] = (), logs: LogReader | None = None) -> list[str]:
    """What keeps ``pod`` from being ready (empty when it is ready or just starting)."""
    if _ready(pod):
        return []
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    problems: list[str] = []
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            problems.append(f"not scheduled: {condition.get('message', condition.get('reason'))}")
    containers = {c["name"]: c for c in spec.get("initContainers", []) + spec.get("containers", [])}
    for kind, key in (
        ("init container", "initContainerStatuses"),
        ("container", "containerStatuses"),
    ):
        for container_status in status.get(key) or []:
            problems += _container_problems(
                pod, container_status, containers.get(container_status.get("name"), {}), kind, logs
            )
    # A running container that is not ready: its probe says why.
    unhealthy = [e for e in _events_for(pod, events) if e.get("reason") == "Unhealthy"]
    for container_status in status.get("containerStatuses") or []:
        if container_status.get("ready") or "running" not in (container_status.get("state") or {}):
            continue
        name = container_status["name"]
        spec_container = containers.get(name, {})
        own = [
            e
            for e in unhealthy
            if name in (e.get("involvedObject") or {}).get("fieldPath", "")
            or "fieldPath" not in (e.get("involvedObject") or {})
        ]
        if own:
            message = own[-1].get("message", "")
            kind = "readiness"
            for probe_kind in ("Startup", "Liveness", "Readiness"):
                if message.startswith(probe_kind):
                    kind = probe_kind.lower()
            probe = spec_container.get(f"{kind}Probe")
            problems.append(
                f"container {name}: {kind} probe ({_probe_text(probe)}) failing: {message}"
            )
        else:
            probe = spec_container.get("readinessProbe")
            problems.append(f"container {name}: running, not ready yet ({_probe_text(probe)})")
    return [f"pod {pod['metadata']['name']}: {problem}" for problem in problems]


def explain(
    pods: Iterable[Obj], events: Iterable[Obj] = (), logs: LogReader | None = None
) -> list[str]:
    """:func:`explain_pod` for every pod, in order."""
    events = list(events)
    return [line for pod in pods for line in explain_pod(pod, events, logs)]
