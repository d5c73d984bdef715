"""The gates decide on what the API server reports (recorded objects here), and say why."""

from __future__ import annotations

from typing import Any

import pytest

from charthouse.rollout import gates
from charthouse.rollout.settings import PrometheusGate, Settings
from unit.rollout.rollout_fakes import FakeApi, FakeClock, deployment, pod

TEST_POD: gates.Obj = {
    "kind": "Pod",
    "metadata": {"name": "rel-app-test-connection", "annotations": {"helm.sh/hook": "test"}},
    "spec": {
        "securityContext": {"runAsNonRoot": True, "runAsUser": 65534},
        "containers": [{"name": "wget", "image": "docker.io/busybox:1.37.0", "command": ["wget"]}],
    },
}
OBJECTS = gates.Objects(
    deployments={"blue": "rel-app-blue", "green": "rel-app-green"},
    services={"main": "rel-app", "preview": "rel-app-preview"},
    port=80,
    test_pod=TEST_POD,
)


def context(api: FakeApi, clock: FakeClock, **settings: Any) -> gates.Context:
    ticks: list[str] = []
    return gates.Context(
        api=api,
        objects=OBJECTS,
        settings=Settings(strategy="blueGreen", **settings),
        release="rel",
        version="v2",
        tick=ticks.append,
        clock=clock,
        sleep=clock.sleep,
    )


def test_ready_passes_once_the_deployment_is_rolled_out() -> None:
    api = FakeApi(deployments={"rel-app-green": deployment("rel-app-green", "green", ready=1)})
    clock = FakeClock()

    def roll_out(now: float) -> None:
        api.deployments["rel-app-green"] = deployment("rel-app-green", "green")

    clock.on_sleep = roll_out
    result = gates.ready(context(api, clock), ["green"])
    assert result.passed, result.detail
    assert "3 replicas available" in result.detail


def test_ready_fails_at_once_on_a_crash_loop_naming_the_pod() -> None:
    api = FakeApi(
        deployments={"rel-app-green": deployment("rel-app-green", "green", ready=0)},
        pod_list=[pod("rel-app-green-x", "green", ready=False, waiting="CrashLoopBackOff")],
        printed={"rel-app-green-x": "listening on :8080\npanic: no DATABASE_URL\n"},
    )
    clock = FakeClock()
    result = gates.ready(context(api, clock), ["green"])
    assert not result.passed
    assert result.detail.startswith("pod rel-app-green-x: container app: CrashLoopBackOff")
    assert result.detail.endswith("it printed: listening on :8080 | panic: no DATABASE_URL")
    assert clock.now == 1000.0  # no waiting for the timeout


def test_ready_times_out_with_the_probe_failure_from_the_events() -> None:
    api = FakeApi(
        deployments={"rel-app-green": deployment("rel-app-green", "green", ready=2)},
        pod_list=[pod("rel-app-green-x", "green", ready=False)],
        events={
            "rel-app-green-x": [
                {"reason": "Unhealthy", "message": "Readiness probe failed: HTTP statuscode: 500"}
            ]
        },
    )
    clock = FakeClock()
    result = gates.ready(context(api, clock, ready_timeout_seconds=30), ["green"])
    assert not result.passed
    assert "not ready after 30s" in result.detail
    assert "Readiness probe failed: HTTP statuscode: 500" in result.detail
    assert 1030 <= clock.now < 1035


def test_ready_reports_why_no_pod_could_be_created() -> None:
    stuck = deployment("rel-app-green", "green", ready=0)
    stuck["status"].update(updatedReplicas=0, replicas=0)
    stuck["status"]["conditions"] = [
        {
            "type": "ReplicaFailure",
            "status": "True",
            "reason": "FailedCreate",
            "message": 'pods "x" is forbidden: exceeded quota',
        }
    ]
    api = FakeApi(deployments={"rel-app-green": stuck})
    result = gates.ready(context(api, FakeClock(), ready_timeout_seconds=5), ["green"])
    assert not result.passed and 'FailedCreate: pods "x" is forbidden' in result.detail


def _slice(*pods: tuple[str, bool]) -> dict[str, Any]:
    return {
        "endpoints": [
            {"conditions": {"ready": ready}, "targetRef": {"name": name}} for name, ready in pods
        ]
    }


def test_traffic_waits_until_only_the_new_colour_has_ready_endpoints() -> None:
    api = FakeApi(
        pod_list=[pod("b1", "blue"), pod("g1", "green")],
        slices={"rel-app": [_slice(("b1", True), ("g1", True))]},
    )
    clock = FakeClock()

    def switch(now: float) -> None:
        if now > 1005:
            api.slices["rel-app"] = [_slice(("b1", False), ("g1", True))]

    clock.on_sleep = switch
    result = gates.traffic(context(api, clock), "green")
    assert result.passed and result.detail == "rel-app: 1 green"
    assert clock.now > 1005


def test_watch_passes_a_quiet_window() -> None:
    api = FakeApi(
        deployments={"rel-app-green": deployment("rel-app-green", "green")},
        pod_list=[pod(f"g{i}", "green") for i in range(3)],
    )
    clock = FakeClock()
    result = gates.watch(context(api, clock, window_seconds=20), "green")
    assert result.passed, result.detail
    assert "3/3 ready, 0 restarts" in result.detail
    assert clock.now >= 1020


def test_watch_fails_on_a_restart_during_the_window() -> None:
    api = FakeApi(
        deployments={"rel-app-green": deployment("rel-app-green", "green")},
        pod_list=[pod("g0", "green", restarts=2)],  # restarts before the window do not count
    )
    clock = FakeClock()

    def crash(now: float) -> None:
        if now > 1010:
            api.pod_list = [pod("g0", "green", restarts=3)]

    clock.on_sleep = crash
    result = gates.watch(context(api, clock, window_seconds=60), "green")
    assert not result.passed
    assert "1 container restarts during the window (at most 0 allowed)" in result.detail


def test_watch_tolerates_one_unready_poll_but_not_three() -> None:
    api = FakeApi(
        deployments={"rel-app-green": deployment("rel-app-green", "green")},
        pod_list=[pod("g0", "green")],
    )
    clock = FakeClock()
    polls = {"n": 0}

    def flap(now: float) -> None:
        polls["n"] += 1
        ready = 2 if polls["n"] in (1, 5, 6, 7) else 3
        api.deployments["rel-app-green"] = deployment("rel-app-green", "green", ready=ready)

    clock.on_sleep = flap
    result = gates.watch(context(api, clock, window_seconds=60), "green")
    assert not result.passed and "2/3 pods ready" in result.detail
    assert polls["n"] == 7  # failed on the third unready poll in a row, not the first


def _vector(value: str) -> dict[str, Any]:
    return {
        "status": "success",
        "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1, value]}]},
    }


def test_watch_fails_when_the_query_leaves_its_bounds() -> None:
    api = FakeApi(
        deployments={"rel-app-green": deployment("rel-app-green", "green")},
        proxy_answers=[_vector("0.01"), _vector("0.2")],
    )
    gate = PrometheusGate(address="monitoring/prometheus:9090", query='x{track="$track"}', max=0.05)
    result = gates.watch(context(api, FakeClock(), window_seconds=60, prometheus=gate), "green")
    assert not result.passed
    assert result.detail == 'prometheus: 0.2 from x{track="green"} is outside <= 0.05'


def test_watch_fails_when_the_query_never_had_data() -> None:
    empty = {"status": "success", "data": {"resultType": "vector", "result": []}}
    api = FakeApi(
        deployments={"rel-app-green": deployment("rel-app-green", "green")},
        proxy_answers=[empty],
    )
    gate = PrometheusGate(address="monitoring/prometheus:9090", query="up", min=1)
    result = gates.watch(context(api, FakeClock(), window_seconds=10, prometheus=gate), "green")
    assert not result.passed and "no data" in result.detail


def _finish(phase: str, message: str) -> Any:
    def kubelet(created: dict[str, Any]) -> None:  # plays the kubelet running the pod
        created["status"] = {
            "phase": phase,
            "containerStatuses": [
                {"name": "smoke", "state": {"terminated": {"exitCode": 0, "message": message}}}
            ],
        }

    return kubelet


@pytest.mark.parametrize(
    ("phase", "message", "passed"),
    [
        ("Succeeded", "HTTP 200 from http://x (expected 200)", True),
        ("Failed", "HTTP 500 from http://x (expected 200)", False),
    ],
)
def test_smoke_test_verdict_is_the_pods_and_the_pod_is_removed(
    phase: str, message: str, passed: bool
) -> None:
    api = FakeApi(on_pod_created=_finish(phase, message))
    result = gates.smoke_test(context(api, FakeClock()), "preview")
    assert result.passed is passed and result.detail == message
    (created,) = api.created_pods
    env = {e["name"]: e["value"] for e in created["spec"]["containers"][0]["env"]}
    assert env["SMOKE_HOST"] == "rel-app-preview.ns.svc"
    assert env["SMOKE_PATH"] == "/" and env["SMOKE_EXPECT"] == "200"
    assert created["spec"]["securityContext"] == TEST_POD["spec"]["securityContext"]
    assert api.deleted_pods == [created["metadata"]["name"]]


def test_smoke_test_that_never_finishes_times_out_saying_why() -> None:
    api = FakeApi()

    def stuck(created: dict[str, Any]) -> None:
        created["status"] = {
            "phase": "Pending",
            "containerStatuses": [
                {"state": {"waiting": {"reason": "ImagePullBackOff", "message": "no such image"}}}
            ],
        }

    api.on_pod_created = stuck
    result = gates.smoke_test(context(api, FakeClock()), "preview")
    assert not result.passed
    assert "did not finish within 150s (ImagePullBackOff: no such image)" in result.detail
    assert api.pod_list == []
