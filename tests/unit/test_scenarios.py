"""Every chart x scenario x Kubernetes version renders to objects that pass the
strict schemas and the security policy: on the fast path for every version, and
with both helm majors on the reference (binary) path."""

from __future__ import annotations

import pytest

from charthouse.manifests import Manifests
from charthouse.render_choices import SUPPORTED_KUBE_VERSIONS
from charthouse.validate import check_objects
from support.rendering import ScenarioCase, render_text, scenario_params

VERSIONS = [pytest.param(v, id=f"k8s{v.rsplit('.', 1)[0]}") for v in SUPPORTED_KUBE_VERSIONS]


@pytest.mark.parametrize("kube_version", VERSIONS)
@pytest.mark.parametrize("case", scenario_params())
def test_scenario_is_valid_and_secure(case: ScenarioCase, kube_version: str) -> None:
    text = render_text(case.chart.name, values_files=case.values_files, kube_version=kube_version)
    manifests = Manifests.parse(text)
    assert len(manifests) > 0, f"{case.id} rendered nothing"
    assert check_objects(manifests, kube_version) == []


@pytest.mark.parametrize("helm", [3, 4], ids=["helm3", "helm4"])
@pytest.mark.parametrize("kube_version", VERSIONS)
@pytest.mark.parametrize("case", scenario_params())
def test_reference_render_is_valid_and_secure(
    case: ScenarioCase, kube_version: str, helm: int
) -> None:
    text = render_text(
        case.chart.name,
        values_files=case.values_files,
        kube_version=kube_version,
        helm=helm,
        engine="binary",
    )
    assert check_objects(Manifests.parse(text), kube_version) == []
