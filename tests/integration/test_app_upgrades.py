"""Upgrades of the app chart that users make every week, checked on a real API server:
no immutable-field errors, the right pods replaced, the Service sending traffic where
the values say. Traffic is read from the EndpointSlices the real controller builds."""

from __future__ import annotations

import pytest

from charthouse import paths

from .harness import Deployer
from .helm import Helm
from .kube import Kube, Obj, eventually
from .traffic import endpoint_tracks

pytestmark = pytest.mark.integration

CI = paths.CHARTS_DIR / "app" / "ci"


def _live_pods(kube: Kube, namespace: str, **labels: str) -> list[Obj]:
    selector = ",".join(f"{k}={v}" for k, v in labels.items()) or None
    return [
        p
        for p in kube.pods(namespace, labels=selector)
        if not p["metadata"].get("deletionTimestamp")
    ]


def _deployment(kube: Kube, namespace: str, name: str) -> Obj:
    found = kube.get("apps/v1", "Deployment", name, namespace)
    assert found is not None, f"Deployment {name} not found"
    return found


def test_config_change_rolls_the_pods(
    helm: Helm, deploy: Deployer, kube: Kube, namespace: str
) -> None:
    values = [CI / "config-secrets-values.yaml"]
    release = deploy("app", helm, values_files=values)
    before = {p["metadata"]["name"] for p in _live_pods(kube, namespace)}
    old_template = _deployment(kube, namespace, "app")["spec"]["template"]["metadata"]

    deploy.upgrade(release, values_files=values, set_values=["config.env.LOG_LEVEL=debug"])

    new_template = _deployment(kube, namespace, "app")["spec"]["template"]["metadata"]
    changed = {
        k
        for k, v in new_template.get("annotations", {}).items()
        if old_template.get("annotations", {}).get(k) != v
    }
    assert any(k.startswith("checksum/") for k in changed), new_template.get("annotations")
    after = eventually(
        lambda: (
            {p["metadata"]["name"] for p in _live_pods(kube, namespace)}.isdisjoint(before)
            and _live_pods(kube, namespace)
        ),
        timeout=60,
        what="every old pod to be replaced",
    )
    assert after


def test_hpa_on_then_off(helm: Helm, deploy: Deployer, kube: Kube, namespace: str) -> None:
    release = deploy("app", helm)
    replicas_without_hpa = _deployment(kube, namespace, "app")["spec"]["replicas"]

    deploy.upgrade(release, values_files=[CI / "hpa-values.yaml"])
    hpas = kube.items("autoscaling/v2", "HorizontalPodAutoscaler", namespace)
    assert [h["spec"]["scaleTargetRef"]["name"] for h in hpas] == ["app"]
    minimum = hpas[0]["spec"]["minReplicas"]
    # The real HPA controller now owns .spec.replicas (raised to minReplicas): exactly the
    # situation in which an upgrade that renders `replicas` again used to conflict.
    eventually(
        lambda: _deployment(kube, namespace, "app")["spec"]["replicas"] == minimum,
        timeout=60,
        what=f"the HPA to scale the Deployment to {minimum}",
    )

    deploy.upgrade(release, set_values=["autoscaling.enabled=false"])

    assert kube.items("autoscaling/v2", "HorizontalPodAutoscaler", namespace) == []
    assert _deployment(kube, namespace, "app")["spec"]["replicas"] == replicas_without_hpa


def test_blue_green_switch(helm: Helm, deploy: Deployer, kube: Kube, namespace: str) -> None:
    values = [CI / "bluegreen-values.yaml"]
    release = deploy("app", helm, values_files=values)
    assert set(endpoint_tracks(kube, namespace, "app")) == {"blue"}
    assert set(endpoint_tracks(kube, namespace, "app-preview")) == {"green"}

    deploy.upgrade(release, values_files=values, set_values=["rollout.blueGreen.activeColor=green"])

    eventually(
        lambda: set(endpoint_tracks(kube, namespace, "app")) == {"green"},
        timeout=30,
        what="the main Service to send traffic to green only",
    )
    eventually(
        lambda: set(endpoint_tracks(kube, namespace, "app-preview")) == {"blue"},
        timeout=30,
        what="the preview Service to select blue",
    )


@pytest.mark.parametrize("weights", [(10, 50, 100)], ids=["10-50-100"])
def test_canary_weights(
    weights: tuple[int, ...], helm: Helm, deploy: Deployer, kube: Kube, namespace: str
) -> None:
    values = [CI / "canary-values.yaml"]  # replicaCount 10
    expected = {10: {"stable": 9, "canary": 1}, 50: {"stable": 5, "canary": 5}, 100: {"canary": 10}}
    release = None
    for weight in weights:
        settings = [f"rollout.canary.weight={weight}"]
        if release is None:
            release = deploy("app", helm, values_files=values, set_values=settings)
        else:
            deploy.upgrade(release, values_files=values, set_values=settings)
        want = expected[weight]
        eventually(
            lambda: dict(endpoint_tracks(kube, namespace, "app")) == want,  # noqa: B023
            timeout=60,
            what=f"traffic split {want} at weight {weight}",
        )
