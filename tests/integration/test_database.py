"""The database chart's promises about credentials and data, on a real API server.

These are the two most reported failures of database charts: a password that
changes on ``helm upgrade`` (bitnami/charts#16417) and a reinstall over a kept
volume whose new password no longer matches the data (helm/charts#19867).
"""

from __future__ import annotations

import pytest

from .harness import Deployer
from .helm import Helm
from .kube import Kube, Obj

pytestmark = pytest.mark.integration

RELEASE = "database"
SECRET = "database"  # fullname: the release name contains the chart name
CLAIM = "data-database-0"


def _secret(kube: Kube, namespace: str) -> Obj:
    secret = kube.get("v1", "Secret", SECRET, namespace)
    assert secret is not None, f"Secret {SECRET} not found"
    return secret


def _claim(kube: Kube, namespace: str) -> Obj:
    claim = kube.get("v1", "PersistentVolumeClaim", CLAIM, namespace)
    assert claim is not None, f"PVC {CLAIM} not found"
    return claim


def test_password_unchanged_after_upgrade(
    helm: Helm, deploy: Deployer, kube: Kube, namespace: str
) -> None:
    release = deploy("database", helm, release=RELEASE)
    before = _secret(kube, namespace)["data"]
    assert before["password"] and before["postgres-password"]

    # An upgrade without --reuse-values and without the password: the usual CI/CD call.
    deploy.upgrade(release, set_values=["config.parameters.max_connections=150"])

    assert _secret(kube, namespace)["data"] == before


def test_uninstall_keeps_data_and_reinstall_reuses_it(
    helm: Helm, deploy: Deployer, kube: Kube, namespace: str
) -> None:
    deploy("database", helm, release=RELEASE)
    secret_data = _secret(kube, namespace)["data"]
    claim_uid = _claim(kube, namespace)["metadata"]["uid"]

    helm.uninstall(RELEASE, namespace).check()

    assert kube.get("apps/v1", "StatefulSet", "database", namespace) is None
    assert _secret(kube, namespace)["data"] == secret_data, "Secret deleted or changed"
    kept = _claim(kube, namespace)
    assert kept["metadata"]["uid"] == claim_uid and not kept["metadata"].get("deletionTimestamp")

    deploy("database", helm, release=RELEASE)

    assert _secret(kube, namespace)["data"] == secret_data  # byte-identical, base64 and all
    claim = _claim(kube, namespace)
    assert claim["metadata"]["uid"] == claim_uid, "the data volume was recreated"
    assert claim["status"]["phase"] == "Bound"
    pod = kube.get("v1", "Pod", "database-0", namespace)
    assert pod is not None
    claims = [
        v["persistentVolumeClaim"]["claimName"]
        for v in pod["spec"]["volumes"]
        if v.get("persistentVolumeClaim")
    ]
    assert CLAIM in claims
