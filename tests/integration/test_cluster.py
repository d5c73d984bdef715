"""The test cluster itself, whatever the provider: what charts rely on (the pinned
Kubernetes version, Ready nodes, a default StorageClass, Pod Security admission).

The real node's own promises are in ``test_node.py``; ``up``/``down`` themselves
in ``test_node_lifecycle.py``."""

from __future__ import annotations

import json

import pytest

from charthouse.tools import pin

from . import pods
from .conftest import SessionCluster
from .kube import Kube, eventually

pytestmark = pytest.mark.integration


def test_version_is_the_pinned_kubernetes(kube: Kube, cluster: SessionCluster) -> None:
    # helm compares every chart's kubeVersion constraint with this string.
    from kubernetes.client import VersionApi

    version = VersionApi(kube.api_client).get_code()
    if cluster.provider == "embedded":
        assert version.git_version == pin("kube-apiserver").version
    assert version.major == "1" and int(version.minor.rstrip("+")) >= 31


def test_nodes_are_ready(kube: Kube) -> None:
    nodes = kube.items("v1", "Node")
    assert nodes, "the cluster has no nodes"
    for node in nodes:
        ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
        assert ready and ready[0]["status"] == "True", node["metadata"]["name"]


def test_default_storage_class_binds_a_claim(kube: Kube, namespace: str) -> None:
    claim = kube.create(pods.claim("data", namespace, "1Gi"))
    assert claim["spec"].get("storageClassName"), "no default StorageClass was applied"

    def bound() -> str | None:
        live = kube.get("v1", "PersistentVolumeClaim", "data", namespace)
        return (
            live["spec"].get("volumeName")
            if live and live["status"].get("phase") == "Bound"
            else None
        )

    volume_name = eventually(bound, timeout=30, what="the claim to bind")
    volume = kube.get("v1", "PersistentVolume", volume_name)
    assert volume is not None
    assert volume["spec"]["claimRef"]["uid"] == claim["metadata"]["uid"]
    assert volume["spec"]["capacity"]["storage"] == "1Gi"


def _pod(name: str, namespace: str, security: dict[str, object]) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "containers": [
                {
                    "name": "main",
                    "image": "docker.io/library/busybox:1.37.0",
                    "securityContext": security,
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                }
            ],
        },
    }


RESTRICTED_CONTAINER = {
    "runAsNonRoot": True,
    "runAsUser": 65532,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def test_pod_security_restricted_is_enforced(kube: Kube, namespace: str) -> None:
    from kubernetes.client.exceptions import ApiException

    kube.create(_pod("compliant", namespace, RESTRICTED_CONTAINER))
    with pytest.raises(ApiException) as rejected:
        kube.create(
            _pod(
                "as-root",
                namespace,
                {**RESTRICTED_CONTAINER, "runAsUser": 0, "runAsNonRoot": False},
            )
        )
    assert rejected.value.status == 403
    message = json.loads(str(rejected.value.body))["message"]
    assert 'violates PodSecurity "restricted:latest"' in message
    assert "runAsUser=0" in message
