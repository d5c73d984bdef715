"""The umbrella chart: one install brings up ingress, app and database, wired together."""

from __future__ import annotations

import pytest

from charthouse import paths

from .harness import Deployer
from .helm import Helm
from .kube import Kube

pytestmark = [pytest.mark.integration, pytest.mark.exclusive_cluster_objects]


@pytest.fixture
def stack_chart() -> str:
    if not (paths.CHARTS_DIR / "stack" / "Chart.yaml").is_file():
        pytest.skip("charts/stack does not exist in this tree yet")
    return "stack"


def test_one_install_brings_up_all_three(
    stack_chart: str, helm: Helm, deploy: Deployer, kube: Kube, namespace: str
) -> None:
    release = deploy(stack_chart, helm, release="shop")
    workloads = [
        o
        for o in helm.manifest(release.name, namespace)
        if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet")
    ]
    charts = {
        o["metadata"].get("labels", {}).get("helm.sh/chart", "").rsplit("-", 1)[0]
        for o in workloads
    }
    assert {"app", "database", "ingress"} <= charts, charts  # and deploy() saw them all ready
    assert helm.test(release.name, namespace).ok

    app_env = [
        env
        for deployment in kube.items("apps/v1", "Deployment", namespace)
        if deployment["metadata"].get("labels", {}).get("app.kubernetes.io/name") == "app"
        for container in deployment["spec"]["template"]["spec"]["containers"]
        for env in container.get("env") or []
        if env["name"] == "DATABASE_URL"
    ]
    assert app_env, "the app has no DATABASE_URL"
    ref = app_env[0].get("valueFrom", {}).get("secretKeyRef")
    assert ref, f"DATABASE_URL is not taken from a Secret: {app_env[0]}"
    secret = kube.get("v1", "Secret", ref["name"], namespace)
    assert secret is not None, f"Secret {ref['name']} (DATABASE_URL) does not exist"
    assert secret["metadata"].get("labels", {}).get("app.kubernetes.io/name") == "database", (
        f"DATABASE_URL comes from {ref['name']}, which is not the database's Secret"
    )
    assert ref["key"] in secret["data"]
