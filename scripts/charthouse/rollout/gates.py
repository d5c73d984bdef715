"""The gates: what must hold before a new version may take (more) traffic.

Each gate polls the API server and returns a :class:`GateResult` whose ``detail`` says
*why* in terms a person can act on: which pod, which reason, which number. Between
polls each gate calls ``tick``, which renews the rollout's lease, raises when an
abort was asked, and shows progress.

What the cluster must provide is the :class:`Api` protocol, so unit tests drive the
gates with recorded objects, and the clock is injectable.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from charthouse.cluster import diagnose, kstatus
from charthouse.errors import CharthouseError
from charthouse.rollout import prometheus, smoke
from charthouse.rollout.settings import Settings
from charthouse.rollout.state import GateResult

Obj = dict[str, Any]
TRACK_LABEL = "charthouse.dev/track"
SERVICE_LABEL = "charthouse.dev/service"
# Selected by every Service of a canary release; "false" on pods about to be removed
# (charthouse.rollout.rotation).
ROTATION_LABEL = "charthouse.dev/in-rotation"
TRAFFIC_TIMEOUT_SECONDS = 120.0
# Pod states that never heal by waiting: fail at once instead of at the timeout.
HOPELESS = frozenset(
    {
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImageNeverPull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)
# Consecutive unready polls before a window fails (one probe blip is no verdict).
UNREADY_POLLS = 3


class Api(Protocol):
    namespace: str

    def get(self, kind: str, name: str) -> Obj | None: ...

    def pods(self, selector: dict[str, str]) -> list[Obj]: ...

    def endpoint_slices(self, service: str) -> list[Obj]: ...

    def warning_events(self, pod: str) -> list[Obj]: ...

    def logs(self, pod: str, container: str, previous: bool) -> str: ...

    def create_pod(self, body: Obj) -> Obj: ...

    def delete_pod(self, name: str) -> None: ...

    def patch_pod(self, name: str, patch: Obj) -> None: ...

    def in_namespace(self, namespace: str) -> Any: ...

    def service_proxy_get(self, service: str, path: str, query: dict[str, str]) -> Any: ...


@dataclass(frozen=True)
class Objects:
    """The release's Deployments by track and Services by role, from its manifest."""

    deployments: Mapping[str, str]
    services: Mapping[str, str]
    port: int
    test_pod: Obj | None = None
    # The main Service selects ROTATION_LABEL: pods can leave rotation before removal.
    rotation: bool = False

    @classmethod
    def from_manifest(cls, manifest: Sequence[Obj], hooks: Sequence[Obj] = ()) -> Objects:
        deployments: dict[str, str] = {}
        services: dict[str, str] = {}
        port = 80
        rotation = False
        for obj in manifest:
            labels = obj.get("metadata", {}).get("labels") or {}
            if obj.get("kind") == "Deployment" and TRACK_LABEL in labels:
                deployments[labels[TRACK_LABEL]] = obj["metadata"]["name"]
            elif obj.get("kind") == "Service" and SERVICE_LABEL in labels:
                services[labels[SERVICE_LABEL]] = obj["metadata"]["name"]
                if labels[SERVICE_LABEL] == "main":
                    port = int(obj["spec"]["ports"][0]["port"])
                    rotation = ROTATION_LABEL in (obj["spec"].get("selector") or {})
        if "main" not in services:
            raise CharthouseError("the release has no main Service (is it the app chart?)")
        test_pod = None
        if hooks:
            try:
                test_pod = smoke.test_pod_template(hooks)
            except CharthouseError:
                test_pod = None
        return cls(deployments, services, port, test_pod, rotation)


@dataclass
class Context:
    api: Api
    objects: Objects
    settings: Settings
    release: str
    version: str
    tick: Callable[[str], None]
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    poll_seconds: float = 2.0
    started: float = field(default=0.0)

    def deployment(self, track: str) -> str:
        try:
            return self.objects.deployments[track]
        except KeyError:
            raise CharthouseError(
                f"the release has no {track} Deployment (strategy changed mid-rollout?)"
            ) from None

    def wait(self, status: str) -> None:
        self.tick(status)
        self.sleep(self.poll_seconds)


def _pods_of(ctx: Context, deployment: Obj) -> list[Obj]:
    selector = deployment["spec"]["selector"]["matchLabels"]
    return [p for p in ctx.api.pods(dict(selector)) if not p["metadata"].get("deletionTimestamp")]


def _explain(ctx: Context, pod: Obj) -> str:
    """The first reason ``pod`` is not ready, as :mod:`charthouse.cluster.diagnose` says it
    (a crash with what it printed, a failing probe with its message, an image pull)."""
    lines = diagnose.explain_pod(pod, ctx.api.warning_events(pod["metadata"]["name"]), ctx.api.logs)
    return lines[0] if lines else ""


def _hopeless(ctx: Context, pod: Obj) -> str | None:
    """Why ``pod`` will never become ready by waiting (a crash loop, an image that cannot
    be pulled, a broken container config), or None."""
    status = pod.get("status", {})
    statuses = (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])
    for container in statuses:
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in HOPELESS:
            return _explain(ctx, pod) or f"pod {pod['metadata']['name']}: {waiting['reason']}"
    return None


def _why_unready(ctx: Context, pods: Sequence[Obj]) -> str:
    """The most telling reason one of ``pods`` is not ready."""
    for pod in pods:
        why = _explain(ctx, pod)
        if why:
            return why
    return ""


def _replica_failure(deployment: Obj) -> str:
    """Why the controller cannot create pods at all (quota, admission, Pod Security)."""
    for condition in deployment.get("status", {}).get("conditions") or []:
        if condition.get("type") == "ReplicaFailure" and condition.get("status") == "True":
            return f"{condition.get('reason', '')}: {condition.get('message', '')}".strip(": ")
    return ""


def ready(ctx: Context, tracks: Sequence[str]) -> GateResult:
    """The Deployments of ``tracks`` roll out and all their pods are ready in time."""
    begin = ctx.clock()
    deadline = begin + ctx.settings.ready_timeout_seconds
    gate = f"ready {'+'.join(tracks)}"
    while True:
        pending: list[str] = []
        summary: list[str] = []
        for track in tracks:
            name = ctx.deployment(track)
            deployment = ctx.api.get("Deployment", name)
            if deployment is None:
                pending.append(f"{name}: not created yet")
                continue
            pods = _pods_of(ctx, deployment)
            for pod in pods:
                hopeless = _hopeless(ctx, pod)
                if hopeless:
                    return GateResult(gate, False, hopeless, seconds=ctx.clock() - begin)
            verdict = kstatus.compute(deployment)
            if verdict.status == kstatus.FAILED:
                return GateResult(
                    gate, False, f"{name}: {verdict.reason}", seconds=ctx.clock() - begin
                )
            if not verdict.current:
                why = _replica_failure(deployment) or _why_unready(ctx, pods)
                pending.append(f"{name}: {verdict.reason}" + (f" ({why})" if why else ""))
            else:
                summary.append(f"{name}: {verdict.reason}")
        if not pending:
            return GateResult(gate, True, "; ".join(summary), seconds=ctx.clock() - begin)
        if ctx.clock() >= deadline:
            return GateResult(
                gate,
                False,
                f"not ready after {ctx.settings.ready_timeout_seconds}s: " + "; ".join(pending),
                seconds=ctx.clock() - begin,
            )
        ctx.wait("; ".join(pending))


def _endpoint_tracks(ctx: Context, service: str) -> dict[str, int]:
    """How many ready endpoints of ``service`` belong to each track."""
    pods = {p["metadata"]["name"]: p for p in ctx.api.pods({})}
    tracks: dict[str, int] = {}
    for slice_ in ctx.api.endpoint_slices(service):
        for endpoint in slice_.get("endpoints") or []:
            if not (endpoint.get("conditions") or {}).get("ready"):
                continue
            pod = pods.get((endpoint.get("targetRef") or {}).get("name", ""))
            track = (pod["metadata"].get("labels") or {}).get(TRACK_LABEL, "?") if pod else "?"
            tracks[track] = tracks.get(track, 0) + 1
    return tracks


def traffic(ctx: Context, track: str) -> GateResult:
    """The main Service sends to ``track`` only (the EndpointSlices say so)."""
    begin = ctx.clock()
    service = ctx.objects.services["main"]
    gate = f"traffic {track}"
    while True:
        tracks = _endpoint_tracks(ctx, service)
        shown = ", ".join(f"{n} {t}" for t, n in sorted(tracks.items())) or "no ready endpoints"
        if tracks and set(tracks) == {track}:
            return GateResult(gate, True, f"{service}: {shown}", seconds=ctx.clock() - begin)
        if ctx.clock() - begin >= TRAFFIC_TIMEOUT_SECONDS:
            return GateResult(
                gate,
                False,
                f"{service} still sends elsewhere after {TRAFFIC_TIMEOUT_SECONDS:.0f}s: {shown}",
                seconds=ctx.clock() - begin,
            )
        ctx.wait(f"{service}: {shown}")


def smoke_test(ctx: Context, role: str) -> GateResult:
    """A pod requests the Service with ``role``; the answer must have the expected status."""
    begin = ctx.clock()
    settings = ctx.settings.smoke
    service = ctx.objects.services.get(role)
    if service is None:
        raise CharthouseError(f"the release has no {role} Service to smoke-test")
    if ctx.objects.test_pod is None:
        smoke.test_pod_template(())  # raises the explanation
    assert ctx.objects.test_pod is not None
    request = smoke.Request(
        host=f"{service}.{ctx.api.namespace}.svc",
        port=ctx.objects.port,
        path=settings.path,
        expected_status=settings.expected_status,
        timeout_seconds=settings.timeout_seconds,
    )
    gate = f"smoke {service}"
    for leftover in ctx.api.pods(
        {"app.kubernetes.io/instance": ctx.release, "app.kubernetes.io/component": smoke.COMPONENT}
    ):
        ctx.api.delete_pod(leftover["metadata"]["name"])
    body = smoke.pod(ctx.objects.test_pod, ctx.release, request)
    name = body["metadata"]["name"]
    ctx.api.create_pod(body)
    try:
        limit = settings.timeout_seconds + smoke.START_SECONDS
        while True:
            live = ctx.api.get("Pod", name)
            if live is None:
                return GateResult(
                    gate, False, f"pod {name} disappeared", seconds=ctx.clock() - begin
                )
            found = smoke.verdict(live)
            if found is not None:
                passed, reason = found
                return GateResult(gate, passed, reason, seconds=ctx.clock() - begin)
            if ctx.clock() - begin >= limit:
                return GateResult(
                    gate,
                    False,
                    f"pod {name} did not finish within {limit}s ({smoke.waiting_reason(live)})",
                    seconds=ctx.clock() - begin,
                )
            ctx.wait(f"smoke test {request.url}: {smoke.waiting_reason(live)}")
    finally:
        ctx.api.delete_pod(name)


def _restarts(pods: Sequence[Obj]) -> dict[str, int]:
    return {
        p["metadata"]["name"]: sum(
            int(c.get("restartCount", 0))
            for c in p.get("status", {}).get("containerStatuses") or []
        )
        for p in pods
    }


def watch(ctx: Context, track: str) -> GateResult:
    """For the window: ``track`` stays ready, restarts within bounds, the query in range."""
    begin = ctx.clock()
    settings = ctx.settings
    name = ctx.deployment(track)
    gate = f"watch {track}"
    baseline: dict[str, int] = {}
    unready_polls = 0
    readings: list[prometheus.Reading] = []
    query = prometheus.render_query(
        settings.prometheus.query,
        {
            "release": ctx.release,
            "namespace": ctx.api.namespace,
            "track": track,
            "version": ctx.version,
        },
    )
    while True:
        deployment = ctx.api.get("Deployment", name)
        if deployment is None:
            return GateResult(gate, False, f"{name} was deleted", seconds=ctx.clock() - begin)
        pods = _pods_of(ctx, deployment)
        restarts = _restarts(pods)
        for pod, count in restarts.items():
            baseline.setdefault(pod, count)
        restarted = sum(count - baseline[pod] for pod, count in restarts.items())
        if restarted > settings.max_restarts:
            return GateResult(
                gate,
                False,
                f"{name}: {restarted} container restarts during the window (at most "
                f"{settings.max_restarts} allowed)",
                seconds=ctx.clock() - begin,
            )
        for live in pods:
            hopeless = _hopeless(ctx, live)
            if hopeless:
                return GateResult(gate, False, hopeless, seconds=ctx.clock() - begin)
        want = int(deployment["spec"].get("replicas", 1))
        have = int(deployment.get("status", {}).get("readyReplicas", 0))
        unready_polls = unready_polls + 1 if have < want else 0
        if unready_polls >= UNREADY_POLLS:
            why = _why_unready(ctx, pods)
            return GateResult(
                gate,
                False,
                f"{name}: {have}/{want} pods ready" + (f" ({why})" if why else ""),
                seconds=ctx.clock() - begin,
            )
        if settings.prometheus.enabled:
            reading = prometheus.query(settings.prometheus, query, ctx.api)
            readings.append(reading)
            if prometheus.within(reading, settings.prometheus) is False:
                bounds = _bounds(settings)
                return GateResult(
                    gate,
                    False,
                    f"prometheus: {reading.describe()} is outside {bounds}",
                    seconds=ctx.clock() - begin,
                )
        elapsed = ctx.clock() - begin
        if elapsed >= settings.window_seconds:
            detail = f"{name}: {have}/{want} ready, {restarted} restarts for {elapsed:.0f}s"
            if settings.prometheus.enabled:
                conclusive = [r for r in readings if r.value is not None]
                if not conclusive:
                    return GateResult(
                        gate,
                        False,
                        f"prometheus: no data for {query!r} during the window",
                        seconds=elapsed,
                    )
                detail += f"; prometheus {conclusive[-1].describe()} within {_bounds(settings)}"
            return GateResult(gate, True, detail, seconds=elapsed)
        ctx.wait(f"{name}: {have}/{want} ready, {elapsed:.0f}/{settings.window_seconds}s")


def _bounds(settings: Settings) -> str:
    low, high = settings.prometheus.min, settings.prometheus.max
    if low is not None and high is not None:
        return f"[{low:g}, {high:g}]"
    return f"<= {high:g}" if high is not None else f">= {low:g}"
