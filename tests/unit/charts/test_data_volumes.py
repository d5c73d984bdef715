"""What every chart that keeps its data on a StatefulSet volume promises (database, cache).

One test per promise, parametrised over those charts, so the two charts cannot drift
apart on the behaviour users rely on when data must survive: a claim template built
from the persistence values, never a label that changes between versions (the
template is immutable), claims kept when the StatefulSet goes, an emptyDir or an
existing claim on request, and a guard that stays silent under ``helm template``.
"""

from __future__ import annotations

from typing import Any

import pytest

from charthouse.manifests import Manifests
from charthouse.paths import CHARTS_DIR
from support.podspec import volumes
from support.rendering import RenderFn

CHARTS = [pytest.param(name, id=name) for name in ("database", "cache")]


def statefulset(m: Manifests, chart: str) -> dict[str, Any]:
    return m.get("StatefulSet", f"rel-{chart}")


def claim_template(m: Manifests, chart: str) -> dict[str, Any]:
    (vct,) = statefulset(m, chart)["spec"]["volumeClaimTemplates"]
    result: dict[str, Any] = vct
    return result


def data_volume(m: Manifests, chart: str) -> dict[str, Any]:
    return volumes(statefulset(m, chart)["spec"]["template"]["spec"])["data"]


@pytest.mark.parametrize("chart", CHARTS)
def test_claim_template_follows_persistence_values(render: RenderFn, chart: str) -> None:
    persistence = {
        "size": "20Gi",
        "storageClass": "fast-ssd",
        "accessModes": ["ReadWriteOncePod"],
        "annotations": {"example.com/tier": "gold"},
    }
    vct = claim_template(render(chart, {"persistence": persistence}), chart)
    assert vct["metadata"]["name"] == "data"
    assert vct["metadata"]["annotations"] == {"example.com/tier": "gold"}
    assert vct["spec"]["storageClassName"] == "fast-ssd"
    assert vct["spec"]["accessModes"] == ["ReadWriteOncePod"]
    assert vct["spec"]["resources"]["requests"]["storage"] == "20Gi"


@pytest.mark.parametrize("chart", CHARTS)
def test_global_storage_class_is_honoured_and_dash_means_no_class(
    render: RenderFn, chart: str
) -> None:
    def storage_class(values: dict[str, Any]) -> str | None:
        spec = claim_template(render(chart, values), chart)["spec"]
        name = spec.get("storageClassName")
        assert name is None or isinstance(name, str)
        return name

    assert storage_class({"global": {"storageClass": "standard-rwo"}}) == "standard-rwo"
    assert storage_class({"persistence": {"storageClass": "-"}}) == ""
    assert storage_class({}) is None  # the cluster's default class


@pytest.mark.parametrize("chart", CHARTS)
def test_claim_template_labels_never_change_between_chart_versions(
    render: RenderFn, chart: str
) -> None:
    """volumeClaimTemplates are immutable: a version label or commonLabels there would
    fail every upgrade."""
    vct = claim_template(render(chart, {"commonLabels": {"team": "payments"}}), chart)
    assert vct["metadata"]["labels"] == {
        "app.kubernetes.io/name": chart,
        "app.kubernetes.io/instance": "rel",
        "app.kubernetes.io/component": "primary",
    }


@pytest.mark.parametrize("chart", CHARTS)
def test_claims_and_secret_are_kept_when_the_release_goes(render: RenderFn, chart: str) -> None:
    m = render(chart)
    assert statefulset(m, chart)["spec"]["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": "Retain",
        "whenScaled": "Retain",
    }
    secret = m.get("Secret", f"rel-{chart}")
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    policy = {"whenDeleted": "Delete", "whenScaled": "Retain"}
    m = render(chart, {"persistence": {"retentionPolicy": policy}})
    assert statefulset(m, chart)["spec"]["persistentVolumeClaimRetentionPolicy"] == policy


@pytest.mark.parametrize("chart", CHARTS)
def test_persistence_disabled_uses_an_emptydir(render: RenderFn, chart: str) -> None:
    disabled = CHARTS_DIR / chart / "ci" / "persistence-disabled-values.yaml"
    m = render(chart, values_files=[disabled])
    assert "volumeClaimTemplates" not in statefulset(m, chart)["spec"]
    assert data_volume(m, chart) == {"name": "data", "emptyDir": {}}


@pytest.mark.parametrize("chart", CHARTS)
def test_existing_claim_replaces_the_claim_template(render: RenderFn, chart: str) -> None:
    m = render(chart, {"persistence": {"existingClaim": "legacy-data"}})
    assert "volumeClaimTemplates" not in statefulset(m, chart)["spec"]
    assert data_volume(m, chart)["persistentVolumeClaim"] == {"claimName": "legacy-data"}


@pytest.mark.parametrize("chart", CHARTS)
def test_volume_guard_is_silent_without_a_cluster(render: RenderFn, chart: str) -> None:
    """``lookup`` finds no StatefulSet offline, so GitOps renders of any size pass. The
    refusing path (an installed release, a changed size) needs the API server: the
    integration suite covers it (tests/integration/test_cache.py)."""
    assert claim_template(render(chart, {"persistence": {"size": "500Gi"}}), chart)
