"""Promises every chart keeps in every scenario, checked across all of them at once.

- A workload's selector never differs between scenarios: a values change that
  altered it would fail on upgrade with "spec.selector: field is immutable".
- A workload an HPA scales has no ``replicas`` field: with Helm 4's server-side
  apply a rendered ``replicas`` fights the autoscaler on every upgrade.
- No container sets the same environment variable twice (the later one silently
  wins in Kubernetes, hiding mistakes).
- Beyond the Pod Security policy every scenario is validated against (in
  test_scenarios.py): our own pods drop every capability and add none (the policy
  lets users add NET_BIND_SERVICE), listen on unprivileged ports, and mount a
  service-account token only where the pod talks to the API (the ingress controller).
- The scenarios put every kind of pod template under those checks: workloads of
  each kind, CronJobs, and each chart's ``helm test`` pod.

Per-chart test files check what is particular to a chart, not these.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from charthouse.charts import all_charts
from charthouse.manifests import Manifests, ref
from support.rendering import ScenarioCase, render, scenario_cases, scenario_params

WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet")
#: Pods that talk to the Kubernetes API, by their name and component labels.
API_CLIENTS = {("ingress", "controller")}


def _render(case: ScenarioCase) -> Manifests:
    return render(case.chart.name, values_files=case.values_files)


@pytest.mark.parametrize("chart", [pytest.param(c.name, id=c.name) for c in all_charts()])
def test_selectors_are_identical_in_every_scenario(chart: str) -> None:
    seen: dict[str, dict[str, Any]] = {}
    where: dict[str, str] = {}
    conflicts = []
    found: defaultdict[str, int] = defaultdict(int)
    for case in (c for c in scenario_cases() if c.chart.name == chart):
        for obj in _render(case).objects:
            if obj["kind"] not in WORKLOADS:
                continue
            key = ref(obj)
            found[key] += 1
            selector = obj["spec"]["selector"]
            if key in seen and seen[key] != selector:
                conflicts.append(f"{key}: {where[key]} {seen[key]} != {case.id} {selector}")
            seen.setdefault(key, selector)
            where.setdefault(key, case.id)
    assert found, f"{chart} renders no workload in any scenario"
    assert conflicts == []


@pytest.mark.parametrize("case", scenario_params())
def test_no_replicas_on_autoscaled_workloads(case: ScenarioCase) -> None:
    manifests = _render(case)
    for hpa in manifests.of_kind("HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        workload = manifests.get(target["kind"], target["name"])
        assert "replicas" not in workload["spec"], f"{ref(workload)} is scaled by {ref(hpa)}"


@pytest.mark.parametrize("case", scenario_params())
def test_no_duplicate_env_names(case: ScenarioCase) -> None:
    for pod in _render(case).pod_templates():
        for list_name in ("initContainers", "containers"):
            for container in pod.spec.get(list_name) or []:
                names = [env["name"] for env in container.get("env") or []]
                duplicates = sorted({n for n in names if names.count(n) > 1})
                assert duplicates == [], f"{ref(pod.owner)} {container['name']}: {duplicates}"


def test_the_scenarios_exercise_autoscaling() -> None:
    """Keeps the HPA invariant above from passing vacuously."""
    scaled = [c.id for c in scenario_cases() if _render(c).of_kind("HorizontalPodAutoscaler")]
    assert len(scaled) >= 2, scaled


@pytest.mark.parametrize("case", scenario_params())
def test_containers_drop_every_capability_and_listen_on_unprivileged_ports(
    case: ScenarioCase,
) -> None:
    for pod in _render(case).pod_templates():
        for list_name in ("initContainers", "containers"):
            for container in pod.spec.get(list_name) or []:
                where = f"{ref(pod.owner)} {container['name']}"
                capabilities = container["securityContext"]["capabilities"]
                assert capabilities == {"drop": ["ALL"]}, where
                ports = [p["containerPort"] for p in container.get("ports") or []]
                assert all(port > 1023 for port in ports), f"{where}: {ports}"


@pytest.mark.parametrize("case", scenario_params())
def test_only_api_clients_mount_a_service_account_token(case: ScenarioCase) -> None:
    for pod in _render(case).pod_templates():
        labels = pod.metadata.get("labels") or {}
        identity = (labels.get("app.kubernetes.io/name"), labels.get("app.kubernetes.io/component"))
        mounts = pod.spec.get("automountServiceAccountToken") is not False
        assert mounts == (identity in API_CLIENTS), f"{ref(pod.owner)} {identity}"


def test_the_scenarios_put_every_kind_of_pod_under_the_checks() -> None:
    """Keeps the pod checks above and the policy from passing vacuously for a kind."""
    kinds = {
        pod.owner["kind"] for case in scenario_cases() for pod in _render(case).pod_templates()
    }
    assert kinds >= {*WORKLOADS, "CronJob", "Pod"}
    for chart in all_charts():
        hooks = [
            pod.owner["metadata"].get("annotations", {}).get("helm.sh/hook")
            for pod in render(chart.name).pod_templates()
            if pod.owner["kind"] == "Pod"
        ]
        assert "test" in hooks, f"{chart.name} renders no helm test pod"
