"""Promises every chart keeps in every scenario, checked across all of them at once.

- A workload's selector never differs between scenarios: a values change that
  altered it would fail on upgrade with "spec.selector: field is immutable".
- A workload an HPA scales has no ``replicas`` field: with Helm 4's server-side
  apply a rendered ``replicas`` fights the autoscaler on every upgrade.
- No container sets the same environment variable twice (the later one silently
  wins in Kubernetes, hiding mistakes).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from charthouse.charts import all_charts
from charthouse.manifests import Manifests, ref
from support.rendering import ScenarioCase, render, scenario_cases, scenario_params

WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet")


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
