"""Pods a canary revision removes leave every Service before the revision is applied:
the right pods, the wait for the EndpointSlices and the scale-down delay, stragglers
of an interrupted step put back, and the order inside a real engine run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from charthouse.errors import CharthouseError
from charthouse.rollout import gates, rotation, strategies
from charthouse.rollout.engine import Engine
from charthouse.rollout.outcome import Outcome
from charthouse.rollout.overrides import Change
from charthouse.rollout.settings import Settings
from charthouse.rollout.state import Store
from charthouse.rollout.steps import Apply
from unit.rollout.rollout_fakes import (
    SERVICE,
    FakeApi,
    FakeClock,
    FakeHelm,
    Progress,
    begun,
    deployment,
    pod,
)

LABEL, COST = gates.ROTATION_LABEL, rotation.DELETION_COST
SERVICES = {"main": "rel-app", "stable": "rel-app-stable", "canary": "rel-app-canary"}
OBJECTS = gates.Objects(
    deployments={"stable": "rel-app", "canary": "rel-app-canary"},
    services=SERVICES,
    port=80,
    rotation=True,
)


def rotating_pod(
    name: str, track: str, created: str, *, ready: bool = True, out: bool = False
) -> Any:
    found = pod(name, track, ready=ready)
    found["metadata"]["creationTimestamp"] = created
    found["metadata"]["labels"][LABEL] = "false" if out else "true"
    return found


def endpoints(api: FakeApi) -> None:
    """The EndpointSlice controller: every Service lists the pods in rotation."""
    listed = [
        {"targetRef": {"name": p["metadata"]["name"]}, "conditions": {"ready": True}}
        for p in api.pod_list
        if rotation.in_rotation(p)
    ]
    for service in SERVICES.values():
        api.slices[service] = [{"endpoints": list(listed)}]


def cluster(*pods: Any) -> FakeApi:
    api = FakeApi(
        deployments={
            "rel-app": deployment("rel-app", "stable", replicas=3),
            "rel-app-canary": deployment("rel-app-canary", "canary", replicas=1),
        },
        pod_list=list(pods),
    )
    api.on_pod_patched = lambda _name: endpoints(api)
    endpoints(api)
    return api


def context(api: FakeApi, clock: FakeClock, delay: int = 5) -> gates.Context:
    return gates.Context(
        api=api,
        objects=OBJECTS,
        settings=Settings(strategy="canary", scale_down_delay_seconds=delay),
        release="rel",
        version="v2",
        tick=lambda _message: None,
        clock=clock,
        sleep=clock.sleep,
    )


def labels(api: FakeApi, name: str) -> tuple[str | None, str | None]:
    live = api.get("Pod", name)
    assert live is not None
    meta = live["metadata"]
    return (meta.get("labels") or {}).get(LABEL), (meta.get("annotations") or {}).get(COST)


def test_choose_takes_pods_already_out_then_unready_then_the_newest() -> None:
    pods = [
        rotating_pod("old", "stable", "2026-01-01T00:00:00Z"),
        rotating_pod("new", "stable", "2026-01-03T00:00:00Z"),
        rotating_pod("mid", "stable", "2026-01-02T00:00:00Z"),
        rotating_pod("unready", "stable", "2026-01-01T00:00:00Z", ready=False),
        rotating_pod("out", "stable", "2026-01-01T00:00:00Z", out=True),
    ]
    assert rotation.choose(pods, 4) == ["out", "unready", "new", "mid"]
    assert rotation.choose(pods, 0) == []


def test_planned_replicas_come_from_the_rendered_deployments_of_each_track() -> None:
    rendered = [
        {
            "kind": "Deployment",
            "metadata": {"name": "rel-app", "labels": {gates.TRACK_LABEL: "stable"}},
            "spec": {"replicas": 2},
        },
        {
            "kind": "Deployment",
            "metadata": {"name": "rel-app-canary", "labels": {gates.TRACK_LABEL: "canary"}},
            "spec": {},
        },
        {"kind": "Service", "metadata": {"name": "rel-app"}, "spec": {"replicas": 9}},
    ]
    # under an HPA a Deployment carries no count: nothing to predict, nothing taken out
    assert rotation.planned_replicas(rendered) == {"rel-app": 2}


def test_the_pods_a_revision_removes_leave_every_service_and_wait_the_delay() -> None:
    api = cluster(
        rotating_pod("s-old", "stable", "2026-01-01T00:00:00Z"),
        rotating_pod("s-mid", "stable", "2026-01-02T00:00:00Z"),
        rotating_pod("s-new", "stable", "2026-01-03T00:00:00Z"),
        rotating_pod("c-left", "canary", "2026-01-01T00:00:00Z", out=True),
    )
    api.on_pod_patched = None  # the slices follow a poll later, as the controller does
    clock = FakeClock(on_sleep=lambda _now: endpoints(api))
    progress = Progress()
    begin = clock.now
    removal = rotation.take_out(context(api, clock), {"rel-app": 2, "rel-app-canary": 1}, progress)
    assert removal.pods == ("s-new",)
    assert labels(api, "s-new") == ("false", rotation.OUT_OF_ROTATION_COST)
    assert labels(api, "s-old") == ("true", None)
    # left out by an interrupted step and kept by this revision: back in rotation
    assert labels(api, "c-left") == ("true", None)
    listed = {e["targetRef"]["name"] for s in api.slices["rel-app"] for e in s["endpoints"]}
    assert listed == {"s-old", "s-mid", "c-left"}
    assert clock.now - begin >= 5
    assert any("c-left back in rotation" in line for line in progress.lines)


def test_a_revision_that_removes_nothing_changes_no_pod_and_waits_for_nothing() -> None:
    api = cluster(rotating_pod("s-1", "stable", "2026-01-01T00:00:00Z"))
    clock = FakeClock()
    removal = rotation.take_out(
        context(api, clock), {"rel-app": 3, "rel-app-canary": 2}, Progress()
    )
    assert not removal and api.patches == [] and clock.now == FakeClock().now


def test_services_that_keep_listing_the_pods_stop_the_step_saying_so() -> None:
    api = cluster(rotating_pod("s-1", "stable", "2026-01-01T00:00:00Z"))
    api.on_pod_patched = None  # no EndpointSlice controller
    with pytest.raises(CharthouseError, match="s-1 are still endpoints"):
        rotation.take_out(context(api, FakeClock()), {"rel-app": 2}, Progress())


def test_a_pod_its_replicaset_kept_is_put_back_in_rotation() -> None:
    api = cluster(rotating_pod("s-1", "stable", "2026-01-01T00:00:00Z", out=True))
    progress = Progress()
    rotation.settle(context(api, FakeClock()), rotation.Removal(("s-1",)), progress)
    assert labels(api, "s-1") == ("true", None)
    assert "pod s-1 was kept by its ReplicaSet: back in rotation" in progress.lines


class CanaryCluster:
    """A release whose main Service selects the rotation label; each revision's
    Deployments are scaled as a ReplicaSet does: the lowest deletion cost goes first."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.api = cluster(
            *(rotating_pod(f"s-{i}", "stable", f"2026-01-0{i}T00:00:00Z") for i in (1, 2, 3))
        )
        self.api.on_pod_patched = self.patched
        main = {
            "kind": "Service",
            "metadata": {"name": "rel-app", "labels": {gates.SERVICE_LABEL: "main"}},
            "spec": {"ports": [{"port": 80}], "selector": {LABEL: "true"}},
        }
        self.helm = FakeHelm(manifest_objects=[main, *self.rendered({"weight": 0})])
        self.helm.renderer = lambda values: [main, *self.rendered(values["rollout"]["canary"])]
        self.helm.start({"rollout": {"strategy": "canary", "canary": {"weight": 0}}})
        self.helm.on_upgrade = self.upgraded

    @staticmethod
    def rendered(canary: Mapping[str, Any]) -> list[Any]:
        stable = 3 - (1 if canary["weight"] else 0)
        return [
            {
                "kind": "Deployment",
                "metadata": {"name": name, "labels": {gates.TRACK_LABEL: track}},
                "spec": {"replicas": replicas},
            }
            for name, track, replicas in (
                ("rel-app", "stable", stable),
                ("rel-app-canary", "canary", 3 - stable),
            )
        ]

    def patched(self, name: str) -> None:
        self.events.append(f"patch {name}")
        endpoints(self.api)

    def upgraded(self, values: Mapping[str, Any]) -> None:
        self.events.append("upgrade")
        target = self.rendered(values["rollout"]["canary"])[0]["spec"]["replicas"]
        stable = [
            p
            for p in self.api.pod_list
            if p["metadata"]["labels"]["charthouse.dev/track"] == "stable"
        ]
        ranked = sorted(
            stable, key=lambda p: int((p["metadata"].get("annotations") or {}).get(COST, "0"))
        )
        for victim in ranked[: len(stable) - target]:
            self.api.delete_pod(victim["metadata"]["name"])
        self.api.deployments["rel-app"] = deployment("rel-app", "stable", replicas=target)
        endpoints(self.api)


def test_the_engine_takes_the_pods_out_before_the_revision_that_removes_them() -> None:
    canary = CanaryCluster()
    settings = Settings(strategy="canary", scale_down_delay_seconds=5, replica_count=3)
    step = Apply("canary 10%: v2", Change(set={"rollout.canary.weight": 10}), traffic="10%")
    plan = strategies.Plan("canary", "v1", "v2", "stable", "canary", [step])
    record = begun(plan, settings, canary.helm.values(), canary.helm.values(), traffic="0%")
    clock = FakeClock()
    store = Store(canary.api, "rel-app-rollout", SERVICE)
    store.acquire(record)
    engine = Engine(
        canary.helm, canary.api, store, record, Progress(), clock=clock, sleep=clock.sleep
    )
    assert engine.run() is Outcome.PROMOTED
    assert canary.events == ["patch s-3", "upgrade"]  # out of rotation, then removed
    assert canary.helm.rendered[-1]["rollout"]["canary"]["weight"] == 10
    remaining = {p["metadata"]["name"]: rotation.in_rotation(p) for p in canary.api.pod_list}
    assert remaining == {"s-1": True, "s-2": True}
