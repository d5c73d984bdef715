"""The driving command's lease through every long wait of a canary rollout: steps that
each end (and save the record) sooner than the renewal interval, pods taken out of
rotation and held for the scale-down delay, gate windows, and an abort asked by
another command meanwhile. At every poll of the driver a second command looks at the
record as ``charthouse rollout abort`` does: it must find the lease held, so it asks
and never takes over.

The clock is the fakes' (it passes only when the code sleeps, or when a stand-in for
helm says it blocked), shared by the driver's waits and both commands' lease timestamps.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from charthouse.rollout import gates, lease, rotation, strategies
from charthouse.rollout.engine import Engine
from charthouse.rollout.outcome import Outcome
from charthouse.rollout.settings import Settings, SmokeTest
from charthouse.rollout.state import BusyError, LeaseLostError, Record, Store
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

Obj = dict[str, Any]
MAIN = {
    "kind": "Service",
    "metadata": {"name": "rel-app", "labels": {gates.SERVICE_LABEL: "main"}},
    "spec": {"ports": [{"port": 80}], "selector": {gates.ROTATION_LABEL: "true"}},
}
DEPLOYMENTS = {"stable": "rel-app", "canary": "rel-app-canary"}
BEFORE = {"image": {"tag": "v1"}, "replicaCount": 4, "rollout": {"strategy": "canary"}}


def replicas(values: Mapping[str, Any]) -> dict[str, int]:
    """The chart's split of replicaCount by canary weight (the canary rounded up)."""
    total = int(values.get("replicaCount", 4))
    weight = int(((values.get("rollout") or {}).get("canary") or {}).get("weight", 0))
    canary = math.ceil(total * weight / 100)
    return {"stable": total - canary if weight < 50 else total // 2, "canary": canary}


@dataclass
class SlowCanaryCluster:
    """A canary release on a cluster that takes its time, as a real node does: a new pod
    is ready ``start_seconds`` after it was created, and a pod taken out of rotation
    leaves the EndpointSlices ``drain_seconds`` later. Scale-downs delete the pods with
    the lowest deletion cost first, as a ReplicaSet does."""

    clock: FakeClock
    start_seconds: float = 8.0
    drain_seconds: float = 6.0
    api: FakeApi = field(default_factory=FakeApi)
    helm: FakeHelm = field(default_factory=FakeHelm)
    born: dict[str, float] = field(default_factory=dict)
    left: dict[str, float] = field(default_factory=dict)
    serial: int = 0

    def __post_init__(self) -> None:
        self.helm.renderer = self.render
        self.helm.manifest_objects = self.render(BEFORE)
        self.helm.start(dict(BEFORE))
        self.helm.on_upgrade = self.upgraded
        self.api.on_pod_patched = self.patched
        self.clock.on_sleep = self.tick
        self.upgraded(BEFORE)
        for name in self.born:
            self.born[name] -= self.start_seconds  # the release runs already
        self.tick(self.clock.now)

    def render(self, values: Mapping[str, Any]) -> list[Obj]:
        counts = replicas(values)
        return [
            MAIN,
            *(
                {
                    "kind": "Deployment",
                    "metadata": {"name": name, "labels": {gates.TRACK_LABEL: track}},
                    "spec": {"replicas": counts[track]},
                }
                for track, name in DEPLOYMENTS.items()
            ),
        ]

    def pods_of(self, track: str) -> list[Obj]:
        return [p for p in self.api.pod_list if p["metadata"]["labels"][gates.TRACK_LABEL] == track]

    def upgraded(self, values: Mapping[str, Any]) -> None:
        for track, want in replicas(values).items():
            pods = self.pods_of(track)
            cost = sorted(
                pods,
                key=lambda p: int(
                    (p["metadata"].get("annotations") or {}).get(rotation.DELETION_COST, "0")
                ),
            )
            for victim in cost[: max(0, len(pods) - want)]:
                self.api.delete_pod(victim["metadata"]["name"])
            for _ in range(want - len(pods)):
                self.serial += 1
                name = f"{track}-{self.serial}"
                created = pod(name, track, ready=False)
                created["metadata"]["labels"][gates.ROTATION_LABEL] = "true"
                created["metadata"]["creationTimestamp"] = f"{self.serial:06d}"
                self.api.pod_list.append(created)
                self.born[name] = self.clock.now
        self.tick(self.clock.now)

    def patched(self, name: str) -> None:
        self.left[name] = self.clock.now

    def tick(self, now: float) -> None:
        """The kubelet, the Deployment and EndpointSlice controllers, one poll later."""
        for live in self.api.pod_list:
            ready = now - self.born[live["metadata"]["name"]] >= self.start_seconds
            live["status"]["conditions"][0]["status"] = "True" if ready else "False"
        for track, name in DEPLOYMENTS.items():
            pods = self.pods_of(track)
            ready_pods = sum(p["status"]["conditions"][0]["status"] == "True" for p in pods)
            self.api.deployments[name] = deployment(
                name, track, replicas=len(pods), ready=ready_pods
            )
        listed = [
            {"targetRef": {"name": p["metadata"]["name"]}, "conditions": {"ready": True}}
            for p in self.api.pod_list
            if p["status"]["conditions"][0]["status"] == "True"
            and (
                rotation.in_rotation(p)
                or now - self.left.get(p["metadata"]["name"], now) < self.drain_seconds
            )
        ]
        self.api.slices["rel-app"] = [{"endpoints": listed}]


@dataclass
class Asker:
    """A second command looking at the record at every poll of the driver, as ``abort``
    does: what it finds of the lease, and whether it could take the lease over."""

    cluster: SlowCanaryCluster
    store: Store
    states: list[str] = field(default_factory=list)
    ages: list[float] = field(default_factory=list)

    def look(self) -> None:
        found = self.store.load()
        assert found is not None
        now = self.cluster.clock.now
        self.states.append(found.lease_state(now))
        self.ages.append(now - found.lease_renewed)
        with pytest.raises(BusyError):
            self.store.acquire(found)


def begin(cluster: SlowCanaryCluster, **settings: Any) -> tuple[Engine, Record, Asker]:
    rollout_settings = Settings(
        strategy="canary", replica_count=4, smoke=SmokeTest(enabled=False), **settings
    )
    plan = strategies.plan(rollout_settings, cluster.helm.values(computed=True), "v2")
    values = {**BEFORE, "image": {"tag": "v2"}}
    record = begun(plan, rollout_settings, values, dict(BEFORE), traffic="0%")
    clock = cluster.clock
    store = Store(cluster.api, "rel-app-rollout", SERVICE, now=clock)
    store.acquire(record)
    engine = Engine(
        cluster.helm, cluster.api, store, record, Progress(), clock=clock, sleep=clock.sleep
    )
    other = Store(cluster.api, "rel-app-rollout", SERVICE, now=clock)
    return engine, record, Asker(cluster, other)


def watched(cluster: SlowCanaryCluster, asker: Asker) -> None:
    """The asker looks after every poll of the driver (once the cluster has moved)."""

    def poll(now: float) -> None:
        cluster.tick(now)
        asker.look()

    cluster.clock.on_sleep = poll


def test_steps_that_each_end_sooner_than_the_renewal_interval_still_renew_the_lease() -> None:
    cluster = SlowCanaryCluster(FakeClock())
    engine, _, asker = begin(cluster, steps=(10, 50), window_seconds=5, scale_down_delay_seconds=3)
    watched(cluster, asker)
    assert engine.run() is Outcome.PROMOTED
    assert cluster.clock.now - 1000.0 > 2 * lease.LEASE_SECONDS  # a run that outlasts the lease
    assert set(asker.states) == {"held"}
    assert max(asker.ages) <= lease.RENEW_EVERY + engine.poll_seconds


def test_an_abort_asked_mid_window_is_done_by_the_driver_through_drain_and_delay() -> None:
    cluster = SlowCanaryCluster(FakeClock(), drain_seconds=12)
    engine, record, asker = begin(
        cluster, steps=(10, 50), window_seconds=60, scale_down_delay_seconds=20
    )

    asked: list[float] = []

    def poll(now: float) -> None:
        cluster.tick(now)
        if asked:
            asker.look()
        elif record.plan[record.next].label.startswith("watch the canary at 10%"):
            asker.store.request_abort("error budget burning")
            asked.append(now)

    cluster.clock.on_sleep = poll
    assert engine.run() is Outcome.ABORTED
    assert record.reason == "error budget burning"
    assert cluster.clock.now - asked[0] > lease.LEASE_SECONDS  # the abort outlasts the lease
    assert set(asker.states) == {"held"}
    assert max(asker.ages) <= lease.RENEW_EVERY + engine.poll_seconds
    restored = {**BEFORE, "rollout": {"strategy": "canary", "canary": {"weight": 0}}}
    assert cluster.helm.values() == restored
    assert {p["metadata"]["labels"][gates.TRACK_LABEL] for p in cluster.api.pod_list} == {"stable"}


def renewed_since(asker: Asker, seconds: float, *, within: float = 5.0) -> None:
    """Wait (real time, at most ``within``) for the lease to be ``seconds`` old or less:
    the driver's helper thread renews it while the main thread blocks."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = asker.store.load()
        if found is not None and asker.cluster.clock.now - found.lease_renewed <= seconds:
            return
        time.sleep(0.005)


def test_the_lease_is_kept_while_helm_blocks_for_longer_than_the_lease() -> None:
    cluster = SlowCanaryCluster(FakeClock())
    engine, _, asker = begin(cluster, steps=(10,), window_seconds=5, scale_down_delay_seconds=3)
    engine.store.keeper_poll_seconds = 0.001
    watched(cluster, asker)
    reconcile = cluster.helm.on_upgrade
    assert reconcile is not None
    blocked: list[float] = []

    def slow_helm(values: Mapping[str, Any]) -> None:
        """The first upgrade blocks for two leases (helm on a busy API server)."""
        if not blocked:
            began = cluster.clock.now
            while cluster.clock.now - began < 2 * lease.LEASE_SECONDS:
                cluster.clock.now += 5
                renewed_since(asker, lease.RENEW_EVERY)
                asker.look()
            blocked.append(cluster.clock.now - began)
        reconcile(values)

    cluster.helm.on_upgrade = slow_helm
    assert engine.run() is Outcome.PROMOTED
    assert blocked and set(asker.states) == {"held"}
    assert max(asker.ages) <= lease.RENEW_EVERY + engine.poll_seconds


def test_a_takeover_found_while_helm_blocks_stops_the_driver_once_helm_returns() -> None:
    cluster = SlowCanaryCluster(FakeClock())
    engine, record, asker = begin(cluster, steps=(10,))
    engine.store.keeper_poll_seconds = 0.001
    reads: list[str] = []
    get = cluster.api.get

    def counted(kind: str, name: str) -> Obj | None:
        reads.append(kind)
        return get(kind, name)

    cluster.api.get = counted  # type: ignore[method-assign]
    with pytest.raises(LeaseLostError, match="taken over"), engine.store.renewing(record):
        found = asker.store.load()
        assert found is not None
        found.lease_renewed -= lease.LEASE_SECONDS  # as if the driver had stopped
        asker.store.acquire(found)
        taken = len(reads)
        deadline = time.monotonic() + 5
        while len(reads) == taken and time.monotonic() < deadline:
            time.sleep(0.001)  # helm still runs; the helper reads the record meanwhile
    stored = asker.store.load()
    assert stored is not None and stored.lease_holder == asker.store.holder


@dataclass
class Clocks:
    """The asking command's monotonic clock and wall clock, and the holder's wall clock
    ``skew`` seconds off."""

    now: float = 5000.0
    skew: float = 0.0

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.now + 1_000_000.0

    def holder_wall(self) -> float:
        return self.wall() + self.skew


def observed(clocks: Clocks, holder: str, renewals: list[float], until: float) -> float | None:
    """Poll every 2 s as ``abort`` does, the holder renewing at the ``renewals`` times (its
    wall clock): when the observer first says the holder stopped, or None."""
    watcher = lease.Observer(clock=clocks.monotonic, wall=clocks.wall)
    begin, renewed = clocks.now, 0.0
    while clocks.now - begin <= until:
        while renewals and clocks.now - begin >= renewals[0]:
            renewals.pop(0)
            renewed = clocks.holder_wall()
        if watcher.stopped(holder, renewed):
            return clocks.now - begin
        clocks.now += 2
    return None


HOLDER = "another-host/4242/abc123"


@pytest.mark.parametrize("skew", [0.0, -120.0, 120.0])
def test_a_holder_that_keeps_renewing_is_never_taken_over_whatever_its_clock(
    skew: float,
) -> None:
    renewals = [float(t) for t in range(0, 600, 10)]
    assert observed(Clocks(skew=skew), HOLDER, renewals, until=590) is None


@pytest.mark.parametrize("skew", [0.0, -120.0])
def test_a_holder_that_stops_renewing_is_taken_over_a_lease_after_its_last_renewal(
    skew: float,
) -> None:
    stopped = observed(Clocks(skew=skew), HOLDER, [0.0, 10.0], until=300)
    assert stopped is not None and 10 + lease.LEASE_SECONDS <= stopped <= 10 + 34


def test_a_holder_whose_clock_runs_ahead_is_taken_over_once_its_timestamp_expires_too() -> None:
    stopped = observed(Clocks(skew=60.0), HOLDER, [0.0], until=300)
    assert stopped is not None and stopped >= 60 + lease.LEASE_SECONDS


def test_a_free_lease_or_a_dead_holder_on_this_host_is_taken_over_at_once() -> None:
    assert observed(Clocks(), "", [], until=60) == 0
    dead = f"{lease.holder_id().split('/')[0]}/999999999/abc123"
    assert observed(Clocks(), dead, [0.0], until=60) == 0
