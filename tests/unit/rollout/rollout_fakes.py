"""Stand-ins for the API server, helm and the clock, for the rollout's unit tests.

STAND-INS, named so: objects are dicts shaped as the API server returns them, a
Secret write checks ``resourceVersion`` as the server does (409 on a stale one),
and "helm" records each upgrade as a revision with its description and values.
The integration tests run the same code against a real API server and real helm.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from charthouse.rollout import helm as helm_
from charthouse.rollout import strategies
from charthouse.rollout.kube import ConflictError, KubeError
from charthouse.rollout.settings import Settings
from charthouse.rollout.state import Record

Obj = dict[str, Any]
TRACK = "charthouse.dev/track"


def deployment(name: str, track: str, replicas: int = 3, *, ready: int | None = None) -> Obj:
    ready = replicas if ready is None else ready
    return {
        "kind": "Deployment",
        "metadata": {"name": name, "generation": 1, "labels": {TRACK: track}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app.kubernetes.io/instance": "rel", TRACK: track}},
        },
        "status": {
            "observedGeneration": 1,
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": ready,
            "availableReplicas": ready,
        },
    }


def pod(name: str, track: str, *, ready: bool = True, restarts: int = 0, waiting: str = "") -> Obj:
    state: Obj = (
        {"waiting": {"reason": waiting, "message": "back-off"}} if waiting else {"running": {}}
    )
    return {
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/instance": "rel", TRACK: track}},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [{"name": "app", "restartCount": restarts, "state": state}],
        },
    }


@dataclass
class FakeApi:
    """One namespace: Deployments, Pods, Services, EndpointSlices, Secrets, events."""

    namespace: str = "ns"
    deployments: dict[str, Obj] = field(default_factory=dict)
    pod_list: list[Obj] = field(default_factory=list)
    services: dict[str, Obj] = field(default_factory=dict)
    slices: dict[str, list[Obj]] = field(default_factory=dict)
    secrets: dict[str, Obj] = field(default_factory=dict)
    events: dict[str, list[Obj]] = field(default_factory=dict)
    printed: dict[str, str] = field(default_factory=dict)  # pod -> what its container logged
    created_pods: list[Obj] = field(default_factory=list)
    deleted_pods: list[str] = field(default_factory=list)
    proxy_answers: list[Any] = field(default_factory=list)
    # Called with each created pod: plays the kubelet (sets its final status).
    on_pod_created: Callable[[Obj], None] | None = None
    patches: list[tuple[str, Obj]] = field(default_factory=list)
    # Called with the name of each patched pod: plays the EndpointSlice controller.
    on_pod_patched: Callable[[str], None] | None = None
    _versions: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def get(self, kind: str, name: str) -> Obj | None:
        store = {
            "Deployment": self.deployments,
            "Service": self.services,
            "Secret": self.secrets,
            "Pod": {p["metadata"]["name"]: p for p in self.pod_list},
        }[kind]
        found = store.get(name)
        return copy.deepcopy(found) if found is not None else None

    def pods(self, selector: dict[str, str]) -> list[Obj]:
        return [
            copy.deepcopy(p)
            for p in self.pod_list
            if all(p["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())
        ]

    def endpoint_slices(self, service: str) -> list[Obj]:
        return copy.deepcopy(self.slices.get(service, []))

    def warning_events(self, pod_name: str) -> list[Obj]:
        return [
            {**e, "involvedObject": {"kind": "Pod", "name": pod_name}}
            for e in self.events.get(pod_name, [])
        ]

    def logs(self, pod_name: str, container: str, previous: bool) -> str:
        return self.printed.get(pod_name, "")

    def create_pod(self, body: Obj) -> Obj:
        created = copy.deepcopy(body)
        created.setdefault("status", {"phase": "Pending"})
        self.created_pods.append(copy.deepcopy(created))
        self.pod_list.append(created)
        if self.on_pod_created is not None:
            self.on_pod_created(created)
        return created

    def delete_pod(self, name: str) -> None:
        self.deleted_pods.append(name)
        self.pod_list = [p for p in self.pod_list if p["metadata"]["name"] != name]

    def patch_pod(self, name: str, patch: Obj) -> None:
        """A merge patch of metadata labels/annotations (null removes a key)."""
        self.patches.append((name, copy.deepcopy(patch)))
        for live in self.pod_list:
            if live["metadata"]["name"] != name:
                continue
            for part in ("labels", "annotations"):
                target = live["metadata"].setdefault(part, {})
                for key, value in (patch.get("metadata", {}).get(part) or {}).items():
                    if value is None:
                        target.pop(key, None)
                    else:
                        target[key] = value
        if self.on_pod_patched is not None:
            self.on_pod_patched(name)

    def create_secret(self, body: Obj) -> Obj:
        name = body["metadata"]["name"]
        if name in self.secrets:
            raise ConflictError(f"secret {name} exists", status=409)
        return self._store_secret(body)

    def replace_secret(self, body: Obj) -> Obj:
        name = body["metadata"]["name"]
        live = self.secrets.get(name)
        if live is None:
            raise KubeError(f"secret {name} not found", status=404)
        if body["metadata"].get("resourceVersion") != live["metadata"]["resourceVersion"]:
            raise ConflictError(f"secret {name}: stale resourceVersion", status=409)
        return self._store_secret(body)

    def _store_secret(self, body: Obj) -> Obj:
        stored = copy.deepcopy(body)
        stored["metadata"]["resourceVersion"] = str(next(self._versions))
        self.secrets[body["metadata"]["name"]] = stored
        return copy.deepcopy(stored)

    def in_namespace(self, namespace: str) -> FakeApi:
        return self

    def service_proxy_get(self, service: str, path: str, query: dict[str, str]) -> Any:
        return self.proxy_answers.pop(0) if len(self.proxy_answers) > 1 else self.proxy_answers[0]


@dataclass
class FakeClock:
    """Time that passes only when the code sleeps."""

    now: float = 1000.0
    on_sleep: Callable[[float], None] | None = None

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.001)
        if self.on_sleep is not None:
            self.on_sleep(self.now)


@dataclass
class FakeHelm:
    """A release's revisions: each upgrade appends one with its values and description."""

    binary: Path = Path("/usr/bin/true")
    revisions: list[dict[str, Any]] = field(default_factory=list)
    manifest_objects: list[Obj] = field(default_factory=list)
    hook_objects: list[Obj] = field(default_factory=list)
    rollbacks: list[int] = field(default_factory=list)
    on_upgrade: Callable[[Mapping[str, Any]], None] | None = None
    defaults: dict[str, Any] = field(default_factory=dict)
    # What ``helm template`` of a revision's values gives (default: the manifest).
    renderer: Callable[[Mapping[str, Any]], list[Obj]] | None = None
    rendered: list[dict[str, Any]] = field(default_factory=list)

    def start(self, values: dict[str, Any], status: str = "deployed") -> None:
        self.revisions.append(
            {"values": values, "description": "Install complete", "status": status}
        )

    def metadata(self) -> helm_.Metadata | None:
        last = self.revisions[-1]
        return helm_.Metadata("app", "0.1.0", len(self.revisions), last["status"])

    def values(self, *, computed: bool = False, revision: int | None = None) -> dict[str, Any]:
        from charthouse.values import deep_merge

        chosen = self.revisions[(revision or len(self.revisions)) - 1]["values"]
        return deep_merge(self.defaults, chosen) if computed else copy.deepcopy(chosen)

    def manifest(self) -> list[Obj]:
        return copy.deepcopy(self.manifest_objects)

    def hooks(self) -> list[Obj]:
        return copy.deepcopy(self.hook_objects)

    def history(self, limit: int = 20) -> list[helm_.Revision]:
        return [
            helm_.Revision(i + 1, r["status"], r["description"])
            for i, r in enumerate(self.revisions)
        ][-limit:]

    def upgrade(
        self, chart: str, values: Mapping[str, Any], *, description: str, chart_version: str = ""
    ) -> None:
        for revision in self.revisions:
            if revision["status"] == "deployed":
                revision["status"] = "superseded"
        self.revisions.append(
            {
                "values": copy.deepcopy(dict(values)),
                "description": description,
                "status": "deployed",
            }
        )
        if self.on_upgrade is not None:
            self.on_upgrade(values)

    def rollback(self, revision: int, *, description: str = "") -> None:
        self.rollbacks.append(revision)
        for item in self.revisions:
            if item["status"] in ("deployed", "pending-upgrade"):
                item["status"] = "superseded"
        self.revisions.append(
            {
                "values": copy.deepcopy(self.revisions[revision - 1]["values"]),
                "description": f"Rollback to {revision}",
                "status": "deployed",
            }
        )

    def render(
        self, chart: str, values: Mapping[str, Any], *, chart_version: str = ""
    ) -> list[Obj]:
        self.rendered.append(copy.deepcopy(dict(values)))
        return self.renderer(values) if self.renderer else copy.deepcopy(self.manifest_objects)

    def upgrades(self) -> list[dict[str, Any]]:
        return [r for r in self.revisions if r["description"].startswith("charthouse rollout")]


@dataclass
class Progress:
    """A reporter that keeps what it was told."""

    lines: list[str] = field(default_factory=list)

    def step(self, phase: str, index: int, total: int, step: Any) -> None:
        self.lines.append(f"{phase} {index + 1}/{total} {step.label}")

    def progress(self, message: str) -> None:
        pass

    def gate(self, result: Any) -> None:
        self.lines.append(
            f"gate {result.gate} {'ok' if result.passed else 'FAILED'} {result.detail}"
        )

    def note(self, message: str) -> None:
        self.lines.append(message)


# The Service a rollout's Store owns its record through (release "rel" of the app chart).
SERVICE = {"metadata": {"name": "rel-app", "uid": "u-1"}}


def begun(
    plan: strategies.Plan,
    settings: Settings,
    values: dict[str, Any],
    snapshot: dict[str, Any],
    traffic: str,
) -> Record:
    """The record of a rollout of release "rel" (app chart, helm revision 1) at its start."""
    return Record.begin(
        plan,
        release="rel",
        chart="charts/app",
        chart_version="",
        settings=settings,
        values=values,
        snapshot=snapshot,
        pre_revision=1,
        traffic=traffic,
    )
