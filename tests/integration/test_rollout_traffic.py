"""``charthouse rollout`` under load through the ingress, on a node that runs containers.

Each test installs the ingress chart (Traefik, IngressClass ``nginx``, a LoadBalancer
Service answering on 127.244.0.x) and an app release behind it, sends requests from
this machine through the ingress at a steady rate, one connection per request
(tests/integration/load.py, vegeta), from before the rollout starts until every pod it
removed is gone, and counts:

* promote blue -> green, and canary 10 -> 100 %: every request answered 200;
* a new version whose readiness never passes (canary) and one whose smoke test answers
  500 (blue-green): aborted by the command itself, every request answered 200, and
  every answer came from a pod of the old version;
* a command killed mid-step and run again: it resumes, finishes, and no request failed.

The figures (requests sent and failed, seconds each promote took) are printed and
attached to the test report as user properties.
"""

from __future__ import annotations

import signal
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from . import app_versions
from .harness import EXCLUSIVE, Deployer
from .helm import Helm
from .kube import Kube, eventually
from .load import Load, Results
from .rollouts import RolloutCli, finish, runs_containers

pytestmark = [
    pytest.mark.integration,
    getattr(pytest.mark, EXCLUSIVE),  # the ingress chart's IngressClass is cluster-wide
    # Helm 4 only: the API-server tests (test_rollout.py) cover both majors.
    pytest.mark.parametrize("helm", [4], indirect=True, ids=["helm4"]),
]

# The Ingress host is the test's namespace under this domain: the ingress class is
# cluster-wide, and a release another run left behind must not answer this test's load.
DOMAIN = "rollout.test"
VERSION_LABEL = "app.kubernetes.io/version"
APP_PODS = "app.kubernetes.io/instance=api,app.kubernetes.io/component=app"
RATE = 50  # requests per second
LINGER = 2.0  # seconds of load after the last removed pod is gone


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


def host(namespace: str) -> str:
    return f"{namespace}.{DOMAIN}"


def app_values(strategy: str, tag: str, namespace: str) -> dict[str, Any]:
    return {
        "replicaCount": 3,
        "image": {"tag": tag},
        # each pod answers with the version it was deployed as (whoami's --name)
        "env": {
            "WHOAMI_NAME": {
                "valueFrom": {"fieldRef": {"fieldPath": f"metadata.labels['{VERSION_LABEL}']"}}
            }
        },
        "ingress": {
            "enabled": True,
            "className": "nginx",
            "hosts": [{"host": host(namespace), "paths": [{"path": "/", "pathType": "Prefix"}]}],
        },
        "rollout": {
            "strategy": strategy,
            "blueGreen": {"previewReplicas": 0, "scaleDownDelaySeconds": 10},
            "canary": {"weight": 0, "scaleDownDelaySeconds": 5},
            "gates": {
                "windowSeconds": 10,
                "readyTimeoutSeconds": 90,
                "smokeTest": {"enabled": True, "path": app_versions.SMOKE_PATH},
            },
        },
    }


def _url(edge: str, namespace: str) -> str:
    """The app through the ingress, once the ingress routes to it (before, Traefik
    answers 404: no router for the host yet)."""
    url = f"http://{edge}/"

    def answers() -> bool:
        request = urllib.request.Request(url, headers={"Host": host(namespace)})
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return bool(response.status == 200)
        except OSError:  # HTTPError (404 before the router exists) is an OSError
            return False

    eventually(answers, timeout=60, what=f"{host(namespace)} answering 200 through the ingress")
    return url


def _load(url: str, namespace: str) -> Load:
    return Load(url, rate=RATE, headers={"Host": host(namespace)})


def _until_removed_pods_are_gone(kube: Kube, namespace: str) -> None:
    """Keep the load on until no pod of the app is stopping: a pod the rollout removed
    fails requests, if at all, when its process exits, after the command returned."""
    eventually(
        lambda: (
            not any(
                p["metadata"].get("deletionTimestamp")
                for p in kube.pods(namespace, labels=APP_PODS)
            )
        ),
        timeout=120,
        what="the pods the rollout removed to be gone",
    )
    time.sleep(LINGER)


def _versions(results: Results, since: datetime | None = None) -> Counter[str]:
    """Answers per version, as each pod says it was deployed (``Name:``, from its
    ``app.kubernetes.io/version`` label), sent after ``since``."""
    return Counter(
        str(r.line("Name")) for r in results if r.ok and (since is None or r.started >= since)
    )


def _figures(request: pytest.FixtureRequest, scenario: str, results: Results, **extra: Any) -> None:
    errors = Counter(r.error or f"HTTP {r.code}" for r in results.failures)
    figures = {
        "scenario": scenario,
        "sent": results.sent,
        "failed": results.failed,
        **extra,
        "errors": dict(errors),
    }
    for key, value in figures.items():
        request.node.user_properties.append((key, value))
    shown = " ".join(f"{k}={v}" for k, v in figures.items() if k != "scenario")
    print(f"FIGURE rollout.{scenario}: {shown}")  # listed in the run's figures section


def _values(tmp_path: Path, values: dict[str, Any]) -> str:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    return str(path)


def _assert_no_failures(results: Results) -> None:
    assert results.sent > 100, f"too little load to mean anything: {results.sent} requests"
    assert results.failed == 0, results.failure_report(20)


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
    deploy("app", helm, release="api", values=app_values(strategy, versions["stable"], namespace))
    cli = RolloutCli(kube.kubeconfig, namespace, 4)
    new = app_values(strategy, versions["good"], namespace)
    url = _url(edge, namespace)
    with _load(url, namespace) as load:
        result = cli.run("start", "api", "-f", _values(tmp_path, new), "--output", "json")
        done = datetime.now(UTC)
        _until_removed_pods_are_gone(kube, namespace)
    assert result.returncode == 0, result.stderr
    report = result.json()
    assert report["outcome"] == "promoted"
    _assert_no_failures(load.results)
    served = _versions(load.results, since=done)  # after the last revision
    assert set(served) == {versions["good"]}, served
    _figures(
        request,
        f"promote-{strategy}",
        load.results,
        promote_seconds=report["durationSeconds"],
        answered_after=dict(served),
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
    deploy("app", helm, release="api", values=app_values(strategy, versions["stable"], namespace))
    cli = RolloutCli(kube.kubeconfig, namespace, 4)
    new = app_values(strategy, versions[broken], namespace)
    new["rollout"]["gates"]["readyTimeoutSeconds"] = 45
    url = _url(edge, namespace)
    with _load(url, namespace) as load:
        result = cli.run("start", "api", "-f", _values(tmp_path, new), "--output", "json")
        _until_removed_pods_are_gone(kube, namespace)
    assert result.returncode == 4, result.stderr
    report = result.json()
    assert report["rollout"]["reason"].startswith(why), report["rollout"]["reason"]
    _assert_no_failures(load.results)
    served = _versions(load.results)
    assert set(served) == {versions["stable"]}, served
    _figures(
        request,
        f"abort-{strategy}-{broken}",
        load.results,
        abort_seconds=report["durationSeconds"],
    )


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
    deploy("app", helm, release="api", values=app_values("canary", versions["stable"], namespace))
    cli = RolloutCli(kube.kubeconfig, namespace, 4)
    new = _values(tmp_path, app_values("canary", versions["good"], namespace))
    url = _url(edge, namespace)
    with _load(url, namespace) as load:
        first = cli.background("start", "api", "-f", new)
        cli.wait_for_step("api", "watch the canary at")
        first.send_signal(signal.SIGKILL)
        finish(first)
        again = cli.run("start", "api", "-f", new, "--output", "json")
        _until_removed_pods_are_gone(kube, namespace)
    assert again.returncode == 0, again.stderr
    assert "resuming rollout" in again.stderr
    _assert_no_failures(load.results)
    _figures(
        request,
        "kill-and-resume-canary",
        load.results,
        resume_seconds=again.json()["durationSeconds"],
    )
