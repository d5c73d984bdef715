"""``charthouse rollout`` on a real API server with real helm (3 and 4): the state machine,
its revisions, resume after a kill, abort from another command, pause and promote, and
bad input that changes nothing.

These run on any cluster. On kwok nodes no container runs, so the smoke-test pods get
their verdict from ``simulated_smoke_results`` (named so), and a version that "never
becomes ready" is one whose pods an admission policy refuses. The traffic promises
(0 failed requests through the ingress) need running containers: test_rollout_traffic.py.

Versions roll from v1.11.0 to v1.10.4: two tags of the whoami image the cluster's
registry serves (on a real node a tag it lacks never becomes ready).
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest
import yaml

from charthouse import paths

from . import pods
from .harness import Deployer
from .helm import Helm
from .kube import Kube, eventually
from .rollouts import (
    RolloutCli,
    descriptions,
    finish,
    history,
    refuse_version,
    revision_values,
    rollout_secret,
    simulated_smoke_results,
)
from .traffic import endpoint_tracks

pytestmark = pytest.mark.integration

APP = str(paths.CHARTS_DIR / "app")
FAST = {  # short gates: the state machine is under test here, not the clock
    "windowSeconds": 2,
    "readyTimeoutSeconds": 30,
    "smokeTest": {"enabled": False},
}
BLUE_GREEN: dict[str, Any] = {
    "replicaCount": 2,
    "image": {"tag": "v1.11.0"},
    "rollout": {
        "strategy": "blueGreen",
        "blueGreen": {"previewReplicas": 0, "scaleDownDelaySeconds": 1},
        "gates": FAST,
    },
}
CANARY: dict[str, Any] = {
    "replicaCount": 4,
    "image": {"tag": "v1.11.0"},
    "rollout": {"strategy": "canary", "canary": {"weight": 0}, "gates": FAST},
}


@pytest.fixture
def cli(kube: Kube, namespace: str, helm: Helm) -> RolloutCli:
    return RolloutCli(kube.kubeconfig, namespace, helm.major)


def values_file(tmp_path: Path, values: dict[str, Any]) -> str:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    return str(path)


def test_blue_green_promotes_in_revisions_that_helm_can_roll_back(
    helm: Helm, deploy: Deployer, kube: Kube, namespace: str, cli: RolloutCli, tmp_path: Path
) -> None:
    deploy("app", helm, release="api", values=BLUE_GREEN)
    assert set(endpoint_tracks(kube, namespace, "api-app")) == {"blue"}
    smoke = {**FAST, "smokeTest": {"enabled": True}}
    values = {**BLUE_GREEN, "image": {"tag": "v1.10.4"}}
    values["rollout"] = {**BLUE_GREEN["rollout"], "gates": smoke}

    with simulated_smoke_results(kube, namespace, "HTTP 200 from preview", passed=True) as seen:
        result = cli.run("start", "api", "-f", values_file(tmp_path, values), "--output", "json")

    assert result.returncode == 0, result.stderr
    report = result.json()
    assert report["outcome"] == "promoted" and report["serving"] == "green (v1.10.4)"
    assert len(seen) == 1 and not kube.pods(
        namespace, labels="app.kubernetes.io/component=rollout-smoke"
    )
    gates = [(g["gate"], g["passed"]) for g in report["rollout"]["gates"]]
    assert gates == [
        ("ready green", True),
        ("smoke api-app-preview", True),
        ("traffic green", True),
        ("watch green", True),
    ]
    steps = descriptions(history(helm, "api", namespace))[1:]
    rollout_id = report["rollout"]["id"]
    assert [s.removeprefix(f"charthouse rollout {rollout_id} ") for s in steps] == [
        "plan 1: deploy v1.10.4 to green (preview)",
        "plan 4: switch traffic to green",
        "plan 7: scale blue to 0 pods",
    ]
    assert set(endpoint_tracks(kube, namespace, "api-app")) == {"green"}
    blue = kube.get("apps/v1", "Deployment", "api-app-blue", namespace)
    assert blue is not None and blue["spec"]["replicas"] == 0

    # Every step is a helm revision: plain `helm rollback` to before the rollout works.
    helm.rollback("api", namespace, 1).check()
    eventually(
        lambda: set(endpoint_tracks(kube, namespace, "api-app")) == {"blue"},
        timeout=60,
        what="traffic back on blue after helm rollback",
    )


def test_canary_steps_to_100_then_stable_takes_the_version(
    helm: Helm, deploy: Deployer, kube: Kube, namespace: str, cli: RolloutCli, tmp_path: Path
) -> None:
    deploy("app", helm, release="web", values=CANARY)
    values = {**CANARY, "image": {"tag": "v1.10.4"}}
    result = cli.run("start", "web", "-f", values_file(tmp_path, values), "--output", "json")
    assert result.returncode == 0, result.stderr
    assert result.json()["serving"] == "stable (v1.10.4), canary 0%"

    entries = history(helm, "web", namespace)[1:]
    stored = [revision_values(helm, "web", namespace, e["revision"]) for e in entries]
    weights = [(v["rollout"]["canary"]["weight"], v["image"]["tag"]) for v in stored]
    assert weights == [
        (10, "v1.11.0"),
        (25, "v1.11.0"),
        (50, "v1.11.0"),
        (100, "v1.11.0"),
        (50, "v1.10.4"),  # stable takes v1.10.4 beside the full canary
        (0, "v1.10.4"),
    ]
    canary = kube.get("apps/v1", "Deployment", "web-app-canary", namespace)
    assert canary is not None and canary["spec"]["replicas"] == 0
    assert dict(endpoint_tracks(kube, namespace, "web-app")) == {"stable": 4}


def test_a_version_that_never_becomes_ready_is_aborted_and_traffic_never_moves(
    helm: Helm, deploy: Deployer, kube: Kube, namespace: str, cli: RolloutCli, tmp_path: Path
) -> None:
    deploy("app", helm, release="api", values=BLUE_GREEN)
    before = helm.values("api", namespace)
    values = {**BLUE_GREEN, "image": {"tag": "v9.9.9"}}
    values["rollout"] = {**BLUE_GREEN["rollout"], "gates": {**FAST, "readyTimeoutSeconds": 10}}
    with refuse_version(kube, namespace, "v9.9.9"):
        result = cli.run("start", "api", "-f", values_file(tmp_path, values), "--output", "json")
    assert result.returncode == 4, result.stderr
    report = result.json()
    assert report["outcome"] == "aborted"
    reason = report["rollout"]["reason"]
    assert reason.startswith("wait for green to be ready: not ready after 10s"), reason
    assert "v9.9.9 may not run" in reason  # why: the admission policy's message
    assert set(endpoint_tracks(kube, namespace, "api-app")) == {"blue"}
    assert helm.values("api", namespace) == before  # the values from before, exactly


def _real_node(kube: Kube) -> bool:
    return any(
        (n["metadata"].get("annotations") or {}).get("kwok.x-k8s.io/node") != "fake"
        for n in kube.items("v1", "Node")
    )


@pytest.fixture
def simulated_nodes_only(kube: Kube) -> None:
    """The test simulates the kubelet's verdict; on a real node the pods really run."""
    if _real_node(kube):
        pytest.skip(
            "simulates the smoke pod's verdict (kwok nodes); on a real node the smoke test "
            "really runs: test_rollout_traffic.py's blue-green smoke500 scenario, an image "
            "answering 500, proves the abort there"
        )


@pytest.mark.usefixtures("simulated_nodes_only")
def test_a_smoke_test_answering_500_is_aborted_with_its_answer(
    helm: Helm, deploy: Deployer, kube: Kube, namespace: str, cli: RolloutCli, tmp_path: Path
) -> None:
    deploy("app", helm, release="api", values=BLUE_GREEN)
    values = {**BLUE_GREEN, "image": {"tag": "v1.10.4"}}
    values["rollout"] = {**BLUE_GREEN["rollout"], "gates": {**FAST, "smokeTest": {"enabled": True}}}
    answer = "HTTP 500 from http://api-app-preview:80/health/ready (expected 200)"
    with simulated_smoke_results(kube, namespace, answer, passed=False):
        result = cli.run("start", "api", "-f", values_file(tmp_path, values))
    assert result.returncode == 4, result.stderr
    assert f"reason   smoke-test green through the preview Service: {answer}" in result.stdout
    assert set(endpoint_tracks(kube, namespace, "api-app")) == {"blue"}
    green = kube.get("apps/v1", "Deployment", "api-app-green", namespace)
    assert green is not None and green["spec"]["replicas"] == 0  # as before the rollout


PROMETHEUS_STAND_IN = "prometheus-stand-in"


def _prometheus_stand_in(kube: Kube, namespace: str, value: str) -> str:
    """STAND-IN for Prometheus (no Prometheus image is built here): busybox httpd
    answering every ``/api/v1/query`` with one instant vector of ``value``, in the
    query API's format. Returns its ``namespace/service:port`` address, the form a
    rollout reaches through the API server's service proxy."""
    answer = json.dumps(
        {
            "status": "success",
            "data": {"resultType": "vector", "result": [{"metric": {}, "value": [0, value]}]},
        }
    )
    script = (
        f"mkdir -p /tmp/www/api/v1 && echo '{answer}' > /tmp/www/api/v1/query "
        "&& exec httpd -f -vv -p 9090 -h /tmp/www"
    )
    labels = {"app.kubernetes.io/name": PROMETHEUS_STAND_IN}
    kube.create(
        pods.pod(
            PROMETHEUS_STAND_IN,
            namespace,
            script,
            restart="Always",
            labels=labels,
            ports=[{"containerPort": 9090, "name": "web"}],
            readiness={"tcpSocket": {"port": 9090}, "periodSeconds": 1},
            volumes=[{"name": "www", "emptyDir": {}}],
            mounts=[{"name": "www", "mountPath": "/tmp"}],
        )
    )
    kube.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": PROMETHEUS_STAND_IN, "namespace": namespace},
            "spec": {"selector": labels, "ports": [{"port": 9090, "targetPort": "web"}]},
        }
    )
    pods.ready(kube, PROMETHEUS_STAND_IN, namespace)
    return f"{namespace}/{PROMETHEUS_STAND_IN}:9090"


@pytest.mark.parametrize("helm", [4], indirect=True, ids=["helm4"])
@pytest.mark.parametrize(
    ("value", "outcome", "code"), [("0", "promoted", 0), ("0.5", "aborted", 4)], ids=["0", "0.5"]
)
def test_a_prometheus_gate_in_the_cluster_decides_by_its_answer(
    value: str,
    outcome: str,
    code: int,
    helm: Helm,
    deploy: Deployer,
    kube: Kube,
    namespace: str,
    cli: RolloutCli,
    tmp_path: Path,
) -> None:
    """The gate's ``namespace/service:port`` address is read through the API server's
    service proxy with the kubeconfig's credentials: a share of errors over ``max``
    aborts the rollout with the value in the reason, one within it promotes."""
    if not _real_node(kube):
        pytest.skip("the Prometheus stand-in is a running container (kwok nodes run none)")
    address = _prometheus_stand_in(kube, namespace, value)
    deploy("app", helm, release="api", values=BLUE_GREEN)
    values = {**BLUE_GREEN, "image": {"tag": "v1.10.4"}}
    gate = {"address": address, "query": 'sum(rate(errors{track="$track"}[1m]))', "max": 0.1}
    values["rollout"] = {**BLUE_GREEN["rollout"], "gates": {**FAST, "prometheus": gate}}

    result = cli.run("start", "api", "-f", values_file(tmp_path, values), "--output", "json")

    assert result.returncode == code, result.stdout + result.stderr
    report = result.json()
    assert report["outcome"] == outcome, report
    if outcome == "aborted":
        reason = report["rollout"]["reason"]
        assert "prometheus: " in reason and "0.5" in reason and "0.1" in reason, reason
        assert set(endpoint_tracks(kube, namespace, "api-app")) == {"blue"}
    else:
        assert set(endpoint_tracks(kube, namespace, "api-app")) == {"green"}
    served = pods.logs(kube, PROMETHEUS_STAND_IN, namespace)
    assert "/api/v1/query" in served, served  # the gate asked the stand-in itself


def test_a_killed_command_run_again_resumes_and_finishes(
    helm: Helm, deploy: Deployer, kube: Kube, namespace: str, cli: RolloutCli, tmp_path: Path
) -> None:
    deploy("app", helm, release="web", values=CANARY)
    values = {**CANARY, "image": {"tag": "v1.10.4"}}
    values["rollout"] = {**CANARY["rollout"], "gates": {**FAST, "windowSeconds": 15}}
    args = ("-f", values_file(tmp_path, values))
    first = cli.background("start", "web", *args)
    at = cli.wait_for_step("web", "watch the canary at")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)

    status = cli.status("web")
    assert status["outcome"] == "running"
    assert "no command drives it (gone)" in status["message"]

    again = cli.run("start", "web", *args, "--output", "json")
    assert again.returncode == 0, again.stderr
    assert "resuming rollout" in again.stderr
    assert again.json()["rollout"]["id"] == at["rollout"]["id"]
    steps = descriptions(history(helm, "web", namespace))[1:]
    assert len(steps) == len(set(steps)) == 6  # every revision made once
    assert dict(endpoint_tracks(kube, namespace, "web-app")) == {"stable": 4}


def test_abort_from_another_command_is_done_by_the_one_driving(
    helm: Helm, deploy: Deployer, kube: Kube, namespace: str, cli: RolloutCli, tmp_path: Path
) -> None:
    # On a real node the abort outlasts the lease (canary pods leave rotation, drain, and
    # are held for the scale-down delay): the driver renews it through every wait, so the
    # asking command asks and waits, and never takes the rollout over.
    deploy("app", helm, release="web", values=CANARY)
    before = helm.values("web", namespace)
    values = {**CANARY, "image": {"tag": "v1.10.4"}}
    values["rollout"] = {**CANARY["rollout"], "gates": {**FAST, "windowSeconds": 120}}
    driving = cli.background("start", "web", "-f", values_file(tmp_path, values))
    cli.wait_for_step("web", "watch the canary at 10%")

    asked = cli.run("abort", "web", "--reason", "error budget burning", "--output", "json")
    done = finish(driving)

    assert asked.returncode == 0, asked.stderr
    assert asked.json()["outcome"] == "aborted"
    assert done.returncode == 4, done.stderr
    assert "reason   error budget burning" in done.stdout
    after = helm.values("web", namespace)
    assert after == {**before, "rollout": {**before["rollout"], "canary": {"weight": 0}}}
    assert dict(endpoint_tracks(kube, namespace, "web-app")) == {"stable": 4}


def test_paused_blue_green_switches_on_promote(
    helm: Helm, deploy: Deployer, kube: Kube, namespace: str, cli: RolloutCli, tmp_path: Path
) -> None:
    paused = {**BLUE_GREEN["rollout"]["blueGreen"], "autoPromote": False}
    initial = {**BLUE_GREEN, "rollout": {**BLUE_GREEN["rollout"], "blueGreen": paused}}
    deploy("app", helm, release="api", values=initial)
    values = {**initial, "image": {"tag": "v1.10.4"}}
    result = cli.run("start", "api", "-f", values_file(tmp_path, values))
    assert result.returncode == 5, result.stderr
    assert cli.status("api")["outcome"] == "paused"
    assert set(endpoint_tracks(kube, namespace, "api-app")) == {"blue"}
    preview = endpoint_tracks(kube, namespace, "api-app-preview")
    assert dict(preview) == {"green": 2}  # the new version runs behind -preview

    assert cli.run("start", "api", "-f", values_file(tmp_path, values)).returncode == 5  # still
    promoted = cli.run("promote", "api", "--output", "json")
    assert promoted.returncode == 0, promoted.stderr
    assert promoted.json()["serving"] == "green (v1.10.4)"


def test_a_second_start_of_the_same_version_changes_nothing(
    helm: Helm, deploy: Deployer, namespace: str, cli: RolloutCli, tmp_path: Path
) -> None:
    deploy("app", helm, release="web", values=CANARY)
    values = values_file(tmp_path, {**CANARY, "image": {"tag": "v1.10.4"}})
    assert cli.run("start", "web", "-f", values).returncode == 0
    revisions = len(history(helm, "web", namespace))
    again = cli.run("start", "web", "-f", values)
    assert again.returncode == 0 and "v1.10.4 already serves; nothing to do" in again.stdout
    assert len(history(helm, "web", namespace)) == revisions


def _assert_refused(result: Any, *needles: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("charthouse: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_bad_input_gets_one_line_exit_2_and_changes_nothing(
    helm: Helm, deploy: Deployer, kube: Kube, namespace: str, cli: RolloutCli, tmp_path: Path
) -> None:
    deploy("app", helm, release="api", values=BLUE_GREEN)
    deploy("app", helm, release="plain", values={"image": {"tag": "v1.11.0"}})  # rolling
    other = tmp_path / "other"
    (other / "templates").mkdir(parents=True)
    (other / "Chart.yaml").write_text("apiVersion: v2\nname: other\nversion: 1.0.0\n")
    (other / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\ndata: {}\n"
    )
    deploy("other", helm, release="other", chart_ref=other)
    new = ("--set", "image.tag=v2.0.0")
    counts = {r: len(history(helm, r, namespace)) for r in ("api", "plain", "other")}

    _assert_refused(cli.run("start", "nope", *new), "release 'nope' not found")
    _assert_refused(cli.run("start", "other", *new), "runs chart other 1.0.0")
    _assert_refused(
        cli.run("start", "plain", *new), "rollout.strategy is 'rolling'", "blueGreen and canary"
    )
    _assert_refused(
        cli.run("start", "api", "--reuse-values", *new, "--set", "rollout.strategy=canary"),
        "runs rollout.strategy blueGreen, the values ask for canary",
    )
    _assert_refused(
        cli.run(
            "start", "api", "--reuse-values", *new, "--set", "rollout.blueGreen.activeColor=green"
        ),
        "rollout.blueGreen.activeColor: set by `charthouse rollout`",
    )
    _assert_refused(
        cli.run("start", "api", "--reuse-values", "--set", "rollout.canary.steps={50,10}"),
        "rollout.canary.steps",
    )
    _assert_refused(cli.run("promote", "api"), "no rollout in progress to promote")
    _assert_refused(cli.run("abort", "api"), "no rollout in progress to abort")
    assert {r: len(history(helm, r, namespace)) for r in counts} == counts
    assert rollout_secret(kube, namespace) == []
