"""Taking the pods a revision will remove out of rotation before the revision is applied.

A canary's weights are replica counts, so most of its revisions scale a Deployment
down, and the ReplicaSet stops the pods it picks at once. A stopping pod is only safe
if every proxy has stopped sending to it before its process exits; the preStop sleep
buys time for proxies that drop *terminating* endpoints, but an ingress controller that
keeps them (Traefik v3.6's NGINX provider does: it reads only ``serving``, which stays
true while the pod still passes its readiness probe) sends to the pod until it is gone,
and those requests fail (502 once the process exited, timeouts once its address is).

So the pods go out of rotation first, by a label every Service of a canary release
selects (``app.rotationSelector`` in the chart): set to ``"false"`` on the pods a
revision will remove, they leave every EndpointSlice while they still run, and every
proxy drops them as it drops any removed endpoint. After ``scaleDownDelaySeconds`` the
revision is applied, and the ReplicaSet deletes exactly those pods: they carry the
lowest ``controller.kubernetes.io/pod-deletion-cost``. A pod left out of rotation by an
interrupted command, or spared by the ReplicaSet, is put back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from charthouse.errors import CharthouseError
from charthouse.rollout.gates import ROTATION_LABEL, TRACK_LABEL, Context, Obj

DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
OUT_OF_ROTATION_COST = "-1000"


class Notes(Protocol):
    def note(self, message: str) -> None: ...


# How long the EndpointSlice controller, and then the ReplicaSet controller, may take.
ENDPOINTS_TIMEOUT_SECONDS = 60.0
REMOVAL_TIMEOUT_SECONDS = 60.0


def planned_replicas(manifest: Sequence[Obj]) -> dict[str, int]:
    """Replicas of each track's Deployment in a rendered revision (none under an HPA,
    where the Deployments carry no count)."""
    found: dict[str, int] = {}
    for obj in manifest:
        labels = obj.get("metadata", {}).get("labels") or {}
        replicas = (obj.get("spec") or {}).get("replicas")
        if obj.get("kind") == "Deployment" and TRACK_LABEL in labels and replicas is not None:
            found[obj["metadata"]["name"]] = int(replicas)
    return found


def in_rotation(pod: Obj) -> bool:
    return (pod["metadata"].get("labels") or {}).get(ROTATION_LABEL) != "false"


def _ready(pod: Obj) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def choose(pods: Sequence[Obj], count: int) -> list[str]:
    """The ``count`` pods to remove: those already out of rotation, then unready ones
    (they get no traffic), then the newest (as the ReplicaSet itself would pick)."""
    newest_first = sorted(
        pods, key=lambda p: str(p["metadata"].get("creationTimestamp", "")), reverse=True
    )
    ranked = sorted(newest_first, key=lambda p: (in_rotation(p), _ready(p)))
    return [p["metadata"]["name"] for p in ranked[: max(count, 0)]]


@dataclass(frozen=True)
class Removal:
    """What was taken out of rotation before one revision."""

    pods: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.pods)


def _live_pods(ctx: Context, deployment: str) -> list[Obj]:
    live = ctx.api.get("Deployment", deployment)
    if live is None:
        return []
    selector = dict(live["spec"]["selector"]["matchLabels"])
    return [p for p in ctx.api.pods(selector) if not p["metadata"].get("deletionTimestamp")]


def _release_pods(ctx: Context) -> list[Obj]:
    pods: list[Obj] = []
    for deployment in ctx.objects.deployments.values():
        pods += _live_pods(ctx, deployment)
    return pods


def _set(ctx: Context, pod: str, *, rotating: bool) -> None:
    ctx.api.patch_pod(
        pod,
        {
            "metadata": {
                "labels": {ROTATION_LABEL: "true" if rotating else "false"},
                "annotations": {DELETION_COST: None if rotating else OUT_OF_ROTATION_COST},
            }
        },
    )


def _endpoint_pods(ctx: Context) -> set[str]:
    """Pods listed (in any condition) by the EndpointSlices of the release's Services."""
    found: set[str] = set()
    for service in ctx.objects.services.values():
        for slice_ in ctx.api.endpoint_slices(service):
            for endpoint in slice_.get("endpoints") or []:
                found.add((endpoint.get("targetRef") or {}).get("name", ""))
    return found


def take_out(ctx: Context, planned: Mapping[str, int], reporter: Notes) -> Removal:
    """Before a revision with ``planned`` replicas: take the pods it removes out of
    rotation, wait until no Service lists them, then hold them for the scale-down delay.
    Pods out of rotation that this revision keeps are put back."""
    chosen: list[str] = []
    for deployment, replicas in sorted(planned.items()):
        pods = _live_pods(ctx, deployment)
        live = ctx.api.get("Deployment", deployment)
        current = int((live or {}).get("spec", {}).get("replicas", len(pods)))
        if replicas < current:
            chosen += choose(pods, current - replicas)
    for pod in _release_pods(ctx):
        name = pod["metadata"]["name"]
        if name not in chosen and not in_rotation(pod):
            _set(ctx, name, rotating=True)
            reporter.note(f"pod {name} back in rotation (left out by an interrupted step)")
    if not chosen:
        return Removal(())
    for name in chosen:
        _set(ctx, name, rotating=False)
    reporter.note(f"out of rotation before the revision: {', '.join(chosen)}")
    begin = ctx.clock()
    while listed := sorted(set(chosen) & _endpoint_pods(ctx)):
        if ctx.clock() - begin >= ENDPOINTS_TIMEOUT_SECONDS:
            raise CharthouseError(
                f"pods {', '.join(listed)} are still endpoints of the release's Services "
                f"{ENDPOINTS_TIMEOUT_SECONDS:.0f}s after leaving rotation (is the "
                "EndpointSlice controller running?)"
            )
        ctx.wait(f"waiting for the Services to drop {', '.join(listed)}")
    end = ctx.clock() + ctx.settings.scale_down_delay_seconds
    while ctx.clock() < end:
        ctx.tick(f"out of rotation, stopped in {end - ctx.clock():.0f}s: {', '.join(chosen)}")
        ctx.sleep(min(ctx.poll_seconds, max(0.0, end - ctx.clock())))
    return Removal(tuple(chosen))


def settle(ctx: Context, removal: Removal, reporter: Notes) -> None:
    """After the revision: wait until the ReplicaSets are deleting the pods taken out;
    one still running after that (the controller chose another) is put back."""
    if not removal:
        return
    begin = ctx.clock()
    while True:
        alive = {
            p["metadata"]["name"]
            for p in _release_pods(ctx)
            if p["metadata"]["name"] in removal.pods
        }
        if not alive:
            return
        if ctx.clock() - begin >= REMOVAL_TIMEOUT_SECONDS:
            for name in sorted(alive):
                _set(ctx, name, rotating=True)
                reporter.note(f"pod {name} was kept by its ReplicaSet: back in rotation")
            return
        ctx.wait(f"waiting for the ReplicaSets to stop {', '.join(sorted(alive))}")
