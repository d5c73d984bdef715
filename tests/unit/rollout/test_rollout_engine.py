"""The engine and the record: a plan run to its end, a failed gate turned into the abort,
a killed command resumed without repeating a revision, a lease that keeps two commands
from driving one release, and an abort asked from another command."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import pytest

from charthouse.errors import ExitCode
from charthouse.rollout import helm as helm_
from charthouse.rollout import lease, overrides, strategies
from charthouse.rollout.engine import Engine
from charthouse.rollout.outcome import Outcome, exit_code
from charthouse.rollout.settings import Settings, SmokeTest
from charthouse.rollout.state import BusyError, Record, Store
from charthouse.rollout.steps import Apply
from charthouse.values import deep_merge
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

TRACKS = ("blue", "green")
MANIFEST = [
    {
        "kind": "Deployment",
        "metadata": {"name": f"rel-app-{t}", "labels": {"charthouse.dev/track": t}},
    }
    for t in TRACKS
] + [
    {
        "kind": "Service",
        "metadata": {"name": name, "labels": {"charthouse.dev/service": role}},
        "spec": {"ports": [{"port": 80}]},
    }
    for name, role in (("rel-app", "main"), ("rel-app-preview", "preview"))
]
BEFORE = {"image": {"tag": "v1"}, "replicaCount": 3, "rollout": {"strategy": "blueGreen"}}
DEFAULTS = {"rollout": {"blueGreen": {"activeColor": "blue"}}}


class Cluster:
    """The fake API server plus a fake controller: each revision's colours become ready,
    and the main Service's endpoints follow activeColor."""

    def __init__(self) -> None:
        self.api = FakeApi()
        self.helm = FakeHelm(manifest_objects=MANIFEST, defaults=DEFAULTS)
        self.helm.start(dict(BEFORE))
        self.helm.on_upgrade = self.reconcile
        self.broken: set[str] = set()
        self.reconcile(BEFORE)

    def reconcile(self, values: Any) -> None:
        full = deep_merge(DEFAULTS, dict(values))
        active = full["rollout"]["blueGreen"]["activeColor"]
        self.api.pod_list = []
        for track in TRACKS:
            tag = (full["rollout"]["blueGreen"].get(track) or {}).get("tag") or full["image"]["tag"]
            broken = tag in self.broken
            self.api.deployments[f"rel-app-{track}"] = deployment(
                f"rel-app-{track}", track, ready=0 if broken else 3
            )
            self.api.pod_list.append(
                pod(
                    f"{track}-0",
                    track,
                    ready=not broken,
                    waiting="CrashLoopBackOff" if broken else "",
                )
            )
        self.api.slices["rel-app"] = [
            {"endpoints": [{"conditions": {"ready": True}, "targetRef": {"name": f"{active}-0"}}]}
        ]


def begin(
    cluster: Cluster, target: str = "v2", **overrides: Any
) -> tuple[Engine, Record, FakeClock]:
    rollout_settings = Settings(
        strategy="blueGreen",
        window_seconds=10,
        replica_count=3,
        smoke=SmokeTest(enabled=False),
        **overrides,
    )
    current = cluster.helm.values(computed=True)
    plan = strategies.plan(rollout_settings, current, target)
    user = {**BEFORE, "image": {"tag": target}}
    record = begun(plan, rollout_settings, user, dict(BEFORE), traffic="blue")
    clock = FakeClock()
    store = Store(cluster.api, "rel-app-rollout", SERVICE)
    store.acquire(record)
    engine = Engine(
        cluster.helm, cluster.api, store, record, Progress(), clock=clock, sleep=clock.sleep
    )
    return engine, record, clock


def test_a_blue_green_rollout_runs_to_promoted() -> None:
    cluster = Cluster()
    engine, record, _ = begin(cluster)
    assert engine.run() is Outcome.PROMOTED
    descriptions = [r["description"] for r in cluster.helm.upgrades()]
    assert descriptions == [
        f"charthouse rollout {record.id} plan 1: deploy v2 to green (preview)",
        f"charthouse rollout {record.id} plan 3: switch traffic to green",
    ]
    final = cluster.helm.values()
    assert final["rollout"]["blueGreen"] == {
        "activeColor": "green",
        "blue": {"tag": "v1"},
        "green": {"tag": "v2"},
    }
    stored = engine.store.load()
    assert stored is not None and stored.outcome is Outcome.PROMOTED and not stored.lease_holder
    assert [g.gate for g in stored.gates] == ["ready green", "traffic green", "watch green"]


def test_a_failed_gate_aborts_and_restores_the_values_from_before() -> None:
    cluster = Cluster()
    cluster.broken.add("v2")
    engine, record, _ = begin(cluster)
    assert engine.run() is Outcome.ABORTED
    assert record.reason.startswith(
        "wait for green to be ready: pod green-0: container app: CrashLoopBackOff"
    )
    assert cluster.helm.values() == BEFORE  # exactly the values from before the rollout
    assert cluster.helm.upgrades()[-1]["description"].endswith(
        "abort 1: restore green as it was before the rollout"
    )
    assert exit_code(Outcome.ABORTED, command="start") == ExitCode.ROLLOUT_ABORTED
    assert ExitCode.ROLLOUT_ABORTED.value == 4


def test_aborting_after_the_switch_sends_traffic_back_before_anything_else() -> None:
    cluster = Cluster()
    engine, record, clock = begin(cluster, scale_down_delay_seconds=30)

    def break_green(now: float) -> None:  # green starts crashing during the window
        if record.next >= 4 and "v2" not in cluster.broken:
            cluster.broken.add("v2")
            cluster.reconcile(cluster.helm.values())

    clock.on_sleep = break_green
    assert engine.run() is Outcome.ABORTED
    labels = [r["description"].split(": ", 1)[1] for r in cluster.helm.upgrades()]
    assert labels == [
        "deploy v2 to green (preview)",
        "switch traffic to green",
        "switch traffic back to blue",
        "restore green as it was before the rollout",
    ]
    assert "keep green for the scale-down delay" in [s.label for s in record.abort_plan]
    assert cluster.helm.values()["rollout"] == {"strategy": "blueGreen"}


def test_a_resumed_rollout_does_not_make_a_revision_twice() -> None:
    cluster = Cluster()
    engine, record, _ = begin(cluster)
    # The first command made the "deploy" revision and was killed before saving its step.
    first = record.plan[0]
    cluster.helm.upgrade(
        "charts/app",
        overrides.apply(record.values, first.change),  # type: ignore[union-attr]
        description=helm_.description(record.id, "plan", 0, first.label),
    )
    assert engine.run() is Outcome.PROMOTED
    assert len(cluster.helm.upgrades()) == 2
    assert any("already made" in e["message"] for e in record.events)


def test_a_revision_left_pending_by_a_killed_helm_is_rolled_back_then_made_again() -> None:
    cluster = Cluster()
    engine, record, _ = begin(cluster)
    first = record.plan[0]
    assert isinstance(first, Apply)
    cluster.helm.revisions.append(  # this step's helm, killed mid-upgrade
        {
            "values": overrides.apply(record.values, first.change),
            "description": "Preparing upgrade",
            "status": "pending-upgrade",
        }
    )
    assert engine.run() is Outcome.PROMOTED
    assert cluster.helm.rollbacks == [1]
    assert cluster.helm.values()["rollout"]["blueGreen"]["activeColor"] == "green"


def test_a_pending_revision_of_someone_else_is_left_alone() -> None:
    cluster = Cluster()
    engine, record, _ = begin(cluster)
    cluster.helm.revisions.append(
        {
            "values": {"other": "change"},
            "description": "Preparing upgrade",
            "status": "pending-upgrade",
        }
    )
    assert engine.run() is Outcome.ERROR
    assert cluster.helm.rollbacks == []
    assert "was not made by this rollout" in record.reason
    assert record.finished  # nothing was changed: the next start begins afresh


def test_an_abort_asked_by_another_command_is_done_by_the_one_driving() -> None:
    cluster = Cluster()
    engine, record, clock = begin(cluster)
    other = Store(cluster.api, "rel-app-rollout", SERVICE)

    def ask(now: float) -> None:
        if record.next >= 4 and not record.abort_requested:
            other.request_abort("latency looks wrong")

    clock.on_sleep = ask
    assert engine.run() is Outcome.ABORTED
    assert record.reason == "latency looks wrong"
    assert cluster.helm.values() == BEFORE


def test_a_fresh_lease_keeps_a_second_command_out() -> None:
    cluster = Cluster()
    begin(cluster)
    second = Store(cluster.api, "rel-app-rollout", SERVICE)
    stored = second.load()
    assert stored is not None
    with pytest.raises(BusyError, match="another `charthouse rollout`"):
        second.acquire(stored)
    stored.lease_renewed = time.time() - lease.LEASE_SECONDS - 1  # expired: taken over
    second.acquire(stored)
    assert second.load().lease_holder == second.holder  # type: ignore[union-attr]


def test_the_lease_of_a_dead_process_on_this_host_is_taken_over_at_once() -> None:
    cluster = Cluster()
    begin(cluster)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    stored = Store(cluster.api, "rel-app-rollout", SERVICE).load()
    assert stored is not None
    host = lease.holder_id().split("/")[0]
    stored.lease_holder = f"{host}/{dead.stdout.strip()}/abc"
    stored.lease_renewed = time.time()
    second = Store(cluster.api, "rel-app-rollout", SERVICE)
    second.load()
    second.acquire(stored)  # no BusyError: that process is gone
    assert second.load().lease_holder == second.holder  # type: ignore[union-attr]


def test_the_record_round_trips() -> None:
    cluster = Cluster()
    _, record, _ = begin(cluster)
    again = Record.from_json(record.to_json())
    assert again.to_json() == record.to_json()
