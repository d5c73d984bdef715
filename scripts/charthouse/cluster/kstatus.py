"""Is a Kubernetes object done rolling out? kstatus-style rules as pure functions.

Modelled on the status conventions of sigs.k8s.io/cli-utils' kstatus (what Helm 4
and Flux wait on): an object is *current* when the controller has observed its
latest generation and the status says every replica is updated and ready. Each
verdict carries a reason a human can act on, because "timed out waiting" alone is
what users of chart-testing complain about (chart-testing#318, #197).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CURRENT, IN_PROGRESS, FAILED = "Current", "InProgress", "Failed"

# Kinds we wait for; everything else is current as soon as the API server stored it.
WAITED_KINDS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "Job", "PersistentVolumeClaim", "Pod"}
)


@dataclass(frozen=True)
class Verdict:
    status: str
    reason: str

    @property
    def current(self) -> bool:
        return self.status == CURRENT


def _condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for condition in obj.get("status", {}).get("conditions") or []:
        if condition.get("type") == kind:
            return dict(condition)
    return None


def _stale(obj: dict[str, Any]) -> Verdict | None:
    generation = obj["metadata"].get("generation")
    observed = obj.get("status", {}).get("observedGeneration")
    if generation is not None and (observed is None or observed < generation):
        return Verdict(IN_PROGRESS, f"controller has not observed generation {generation} yet")
    return None


def _deployment(obj: dict[str, Any]) -> Verdict:
    spec, status = obj["spec"], obj.get("status", {})
    progressing = _condition(obj, "Progressing")
    if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
        return Verdict(FAILED, f"progress deadline exceeded: {progressing.get('message', '')}")
    want = spec.get("replicas", 1)
    counts = {
        key: status.get(key, 0)
        for key in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")
    }
    if counts["updatedReplicas"] < want:
        return Verdict(IN_PROGRESS, f"{counts['updatedReplicas']}/{want} replicas updated")
    if counts["replicas"] > counts["updatedReplicas"]:
        return Verdict(
            IN_PROGRESS,
            f"{counts['replicas'] - counts['updatedReplicas']} old replicas pending termination",
        )
    if counts["readyReplicas"] < want or counts["availableReplicas"] < want:
        return Verdict(IN_PROGRESS, f"{counts['availableReplicas']}/{want} replicas available")
    return Verdict(CURRENT, f"{want} replicas available")


def _statefulset(obj: dict[str, Any]) -> Verdict:
    spec, status = obj["spec"], obj.get("status", {})
    want = spec.get("replicas", 1)
    ready = status.get("readyReplicas", 0)
    if ready < want:
        return Verdict(IN_PROGRESS, f"{ready}/{want} replicas ready")
    strategy = spec.get("updateStrategy", {})
    if strategy.get("type") == "OnDelete":
        return Verdict(CURRENT, f"{want} replicas ready (OnDelete)")
    partition = strategy.get("rollingUpdate", {}).get("partition", 0)
    updated = status.get("updatedReplicas", 0)
    if updated < want - partition:
        return Verdict(IN_PROGRESS, f"{updated}/{want - partition} replicas updated")
    if partition == 0 and status.get("currentRevision") != status.get("updateRevision"):
        return Verdict(IN_PROGRESS, "rolling update to the new revision not finished")
    return Verdict(CURRENT, f"{want} replicas ready")


def _daemonset(obj: dict[str, Any]) -> Verdict:
    status = obj.get("status", {})
    want = status.get("desiredNumberScheduled", 0)
    for key in (
        "currentNumberScheduled",
        "updatedNumberScheduled",
        "numberAvailable",
        "numberReady",
    ):
        if status.get(key, 0) < want:
            return Verdict(IN_PROGRESS, f"{key} {status.get(key, 0)}/{want}")
    return Verdict(CURRENT, f"{want} pods ready")


def _job(obj: dict[str, Any]) -> Verdict:
    for kind, verdict in (("Failed", FAILED), ("Complete", CURRENT)):
        condition = _condition(obj, kind)
        if condition and condition.get("status") == "True":
            return Verdict(verdict, condition.get("message") or kind)
    status = obj.get("status", {})
    return Verdict(
        IN_PROGRESS,
        f"job running: {status.get('active', 0)} active, "
        f"{status.get('succeeded', 0)} succeeded, "
        f"{status.get('failed', 0)} failed",
    )


def _pvc(obj: dict[str, Any]) -> Verdict:
    phase = obj.get("status", {}).get("phase", "Pending")
    return Verdict(CURRENT if phase == "Bound" else IN_PROGRESS, f"phase {phase}")


def _pod(obj: dict[str, Any]) -> Verdict:
    phase = obj.get("status", {}).get("phase", "Pending")
    if phase == "Succeeded":
        return Verdict(CURRENT, "pod succeeded")
    if phase == "Failed":
        return Verdict(FAILED, obj.get("status", {}).get("message") or "pod failed")
    ready = _condition(obj, "Ready")
    if phase == "Running" and ready and ready.get("status") == "True":
        return Verdict(CURRENT, "pod ready")
    return Verdict(
        IN_PROGRESS,
        f"pod {phase}" + (f": {ready.get('message')}" if ready and ready.get("message") else ""),
    )


_RULES = {
    "Deployment": _deployment,
    "StatefulSet": _statefulset,
    "DaemonSet": _daemonset,
    "Job": _job,
    "PersistentVolumeClaim": _pvc,
    "Pod": _pod,
}


def compute(obj: dict[str, Any]) -> Verdict:
    """The rollout status of ``obj`` (a dict as the API server returns it)."""
    if obj.get("metadata", {}).get("deletionTimestamp"):
        return Verdict(IN_PROGRESS, "being deleted")
    rule = _RULES.get(obj.get("kind", ""))
    if rule is None:
        return Verdict(CURRENT, "no rollout to wait for")
    if obj["kind"] not in ("PersistentVolumeClaim", "Pod", "Job"):
        stale = _stale(obj)
        if stale is not None:
            return stale
    return rule(obj)
