"""``charthouse rollout`` under load through the ingress, on a node that runs containers.

WRITTEN FOR THE REAL-NODE CLUSTER AND NOT YET RUN HERE (the branch was developed on kwok
nodes, where these skip). Each test installs the ingress chart (Traefik, IngressClass
``nginx``, a LoadBalancer Service answering on 127.0.0.1) and an app release behind it,
sends requests from this machine through the ingress for the whole rollout, and counts:

* promote blue -> green, and canary 10 -> 100 %: every request answered 200;
* a new version whose readiness never passes (canary) and one whose smoke test answers
  500 (blue-green): aborted by the command itself, every request answered 200, and
  every answer came from a pod of the old version;
* a command killed mid-step and run again: it resumes, finishes, and no request failed.

The figures (requests sent and failed, seconds each promote took) are printed and
attached to the test report as user properties.
"""

from __future__ import annotations

import http.client
import re
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from . import app_versions
from .harness import EXCLUSIVE, Deployer
from .helm import Helm
from .kube import Kube, eventually
from .rollouts import RolloutCli, finish, runs_containers

pytestmark = [
    pytest.mark.integration,
    getattr(pytest.mark, EXCLUSIVE),  # the ingress chart's IngressClass is cluster-wide
    # Helm 4 only: the API-server tests (test_rollout.py) cover both majors.
    pytest.mark.parametrize("helm", [4], indirect=True, ids=["helm4"]),
]

HOST = "rollout.test"
VERSION_LABEL = "app.kubernetes.io/version"


@pytest.fixture
def real_node(cluster: Any, kube: Kube) -> None:
    if not runs_containers(cluster, kube):
        pytest.skip("needs a node that runs containers (kwok nodes answer no request)")


@pytest.fixture
def versions(real_node: None) -> dict[str, str]:
    address = app_versions.registry_address()
    if address is None:
        pytest.skip("no local registry address (set CHARTHOUSE_REGISTRY=127.0.0.1:PORT)")
    return app_versions.ensure(address)


@pytest.fixture
def edge(versions: dict[str, str], helm: Helm, deploy: Deployer, kube: Kube, namespace: str) -> str:
    """The ingress chart's load-balancer address (on loopback)."""
    deploy("ingress", helm, release="edge")

    def address() -> str | None:
        for svc in kube.items("v1", "Service", namespace):
            if svc["spec"].get("type") == "LoadBalancer":
                found = svc.get("status", {}).get("loadBalancer", {}).get("ingress") or []
                if found:
                    return str(found[0]["ip"])
        return None

    ip: str = eventually(address, timeout=60, what="the ingress load-balancer address")
    assert ip.startswith("127."), ip
    return ip


def app_values(strategy: str, tag: str) -> dict[str, Any]:
    return {
        "replicaCount": 3,
        "image": {"tag": tag},
        # kept serving while proxies drop a stopping pod: what makes 0 failures possible
        "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
        "ingress": {
            "enabled": True,
            "className": "nginx",
            "hosts": [{"host": HOST, "paths": [{"path": "/", "pathType": "Prefix"}]}],
        },
        "rollout": {
            "strategy": strategy,
            "blueGreen": {"previewReplicas": 0, "scaleDownDelaySeconds": 10},
            "canary": {"weight": 0},
            "gates": {
                "windowSeconds": 10,
                "readyTimeoutSeconds": 90,
                "smokeTest": {"enabled": True, "path": app_versions.SMOKE_PATH},
            },
        },
    }


@dataclass
class Load:
    """Requests to the ingress from threads, each on a fresh connection, for as long as
    the rollout runs: every answer's status and the pod that gave it."""

    address: str
    threads: int = 3
    pause: float = 0.05
    sent: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)
    answered_by: Counter[str] = field(default_factory=Counter)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _one(self) -> None:
        error, pod = "", ""
        try:
            conn = http.client.HTTPConnection(self.address, 80, timeout=5)
            conn.request("GET", "/", headers={"Host": HOST, "Connection": "close"})
            response = conn.getresponse()
            body = response.read().decode(errors="replace")
            conn.close()
            if response.status != 200:
                error = f"HTTP {response.status}: {body[:80]!r}"
            found = re.search(r"^Hostname: (\S+)", body, re.MULTILINE)
            pod = found.group(1) if found else ""
        except (OSError, http.client.HTTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            self.sent += 1
            if pod:
                self.answered_by[pod] += 1
            if error:
                self.failed += 1
                if len(self.failures) < 20:
                    self.failures.append(f"{time.strftime('%H:%M:%S')} {error}")

    def reset(self) -> None:
        """Count from now on (answers before the ingress routed to the app do not count)."""
        with self._lock:
            self.sent = self.failed = 0
            self.failures.clear()
            self.answered_by.clear()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._one()
            self._stop.wait(self.pause)

    @contextmanager
    def running(self) -> Iterator[Load]:
        workers = [threading.Thread(target=self._run, daemon=True) for _ in range(self.threads)]
        for worker in workers:
            worker.start()
        try:
            yield self
        finally:
            self._stop.set()
            for worker in workers:
                worker.join(timeout=10)


class PodVersions:
    """Which version each pod of the namespace ran, sampled while the test runs (pods that
    served and were deleted are still known afterwards)."""

    def __init__(self, kube: Kube, namespace: str) -> None:
        self.kube, self.namespace = kube, namespace
        self.versions: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def reset(self) -> None:
        """Count from now on (answers before the ingress routed to the app do not count)."""
        with self._lock:
            self.sent = self.failed = 0
            self.failures.clear()
            self.answered_by.clear()

    def _run(self) -> None:
        while not self._stop.is_set():
            for pod in self.kube.pods(self.namespace):
                labels = pod["metadata"].get("labels") or {}
                if VERSION_LABEL in labels:
                    self.versions[pod["metadata"]["name"]] = labels[VERSION_LABEL]
            self._stop.wait(0.5)

    def __enter__(self) -> PodVersions:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def of(self, answered_by: Counter[str]) -> Counter[str]:
        found: Counter[str] = Counter()
        for pod, count in answered_by.items():
            found[self.versions.get(pod, "?")] += count
        return found


def _warm(load: Load) -> None:
    """Wait until the ingress routes to the app at all before the rollout begins."""
    eventually(lambda: load.sent >= 20 and load.answered_by, timeout=60, what="the first answers")
    load.reset()


def _figures(request: pytest.FixtureRequest, scenario: str, load: Load, **extra: Any) -> None:
    figures = {"scenario": scenario, "sent": load.sent, "failed": load.failed, **extra}
    for key, value in figures.items():
        request.node.user_properties.append((key, value))
    print(f"ROLLOUT-FIGURES {' '.join(f'{k}={v}' for k, v in figures.items())}")


def _values(tmp_path: Path, values: dict[str, Any]) -> str:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    return str(path)


def _assert_no_failures(load: Load) -> None:
    assert load.sent > 100, f"too little load to mean anything: {load.sent} requests"
    assert load.failed == 0, f"{load.failed} of {load.sent} failed:\n" + "\n".join(load.failures)


@pytest.mark.parametrize("strategy", ["blueGreen", "canary"])
def test_promote_under_load_fails_no_request(
    strategy: str,
    versions: dict[str, str],
    edge: str,
    helm: Helm,
    deploy: Deployer,
    kube: Kube,
    namespace: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    deploy("app", helm, release="api", values=app_values(strategy, versions["stable"]))
    cli = RolloutCli(kube.kubeconfig, namespace, 4)
    new = app_values(strategy, versions["good"])
    load = Load(edge)
    with PodVersions(kube, namespace) as pods, load.running():
        _warm(load)
        result = cli.run("start", "api", "-f", _values(tmp_path, new), "--output", "json")
        load_during = Counter(load.answered_by)
        time.sleep(3)  # a few answers after the last revision: from the new pods only
        load_after = Counter(load.answered_by) - load_during
    assert result.returncode == 0, result.stderr
    report = result.json()
    assert report["outcome"] == "promoted"
    _assert_no_failures(load)
    served = pods.of(load_after)
    assert set(served) == {versions["good"]}, served
    _figures(
        request,
        f"promote-{strategy}",
        load,
        promote_seconds=report["durationSeconds"],
        answered=dict(served),
    )


@pytest.mark.parametrize(
    ("strategy", "broken", "why"),
    [
        ("canary", "unready", "wait for the canary at 10% to be ready: not ready after"),
        ("blueGreen", "smoke500", "smoke-test green through the preview Service: HTTP 500"),
    ],
    ids=["canary-readiness-never-passes", "blue-green-smoke-test-500"],
)
def test_a_broken_version_is_aborted_and_traffic_stays_on_the_old_one(
    strategy: str,
    broken: str,
    why: str,
    versions: dict[str, str],
    edge: str,
    helm: Helm,
    deploy: Deployer,
    kube: Kube,
    namespace: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    deploy("app", helm, release="api", values=app_values(strategy, versions["stable"]))
    cli = RolloutCli(kube.kubeconfig, namespace, 4)
    new = app_values(strategy, versions[broken])
    new["rollout"]["gates"]["readyTimeoutSeconds"] = 45
    load = Load(edge)
    with PodVersions(kube, namespace) as pods, load.running():
        _warm(load)
        result = cli.run("start", "api", "-f", _values(tmp_path, new), "--output", "json")
    assert result.returncode == 4, result.stderr
    report = result.json()
    assert report["rollout"]["reason"].startswith(why), report["rollout"]["reason"]
    _assert_no_failures(load)
    served = pods.of(load.answered_by)
    assert set(served) == {versions["stable"]}, served
    _figures(request, f"abort-{strategy}-{broken}", load, abort_seconds=report["durationSeconds"])


def test_a_killed_rollout_resumes_under_load_and_fails_no_request(
    versions: dict[str, str],
    edge: str,
    helm: Helm,
    deploy: Deployer,
    kube: Kube,
    namespace: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    deploy("app", helm, release="api", values=app_values("canary", versions["stable"]))
    cli = RolloutCli(kube.kubeconfig, namespace, 4)
    new = _values(tmp_path, app_values("canary", versions["good"]))
    load = Load(edge)
    with load.running():
        _warm(load)
        first = cli.background("start", "api", "-f", new)
        cli.wait_for_step("api", "watch the canary at")
        first.send_signal(signal.SIGKILL)
        finish(first)
        again = cli.run("start", "api", "-f", new, "--output", "json")
    assert again.returncode == 0, again.stderr
    assert "resuming rollout" in again.stderr
    _assert_no_failures(load)
    _figures(
        request, "kill-and-resume-canary", load, resume_seconds=again.json()["durationSeconds"]
    )
