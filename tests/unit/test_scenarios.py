"""Every chart x scenario x Kubernetes version renders to objects that pass the
strict schemas and the security policy. Rendered on the fast path (the SDK when it
loads); ``test_helm_differential.py`` proves the helm 3 and helm 4 binaries render
the same objects for every one of these, so their renders pass too."""

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
