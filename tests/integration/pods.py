"""Running a real pod in the test cluster and reading what it printed.

The test pods use the busybox image the charts' own test hooks use, run as a
non-root user under Pod Security ``restricted``, so a test pod never needs a
namespace exemption.
"""

from __future__ import annotations

import secrets
from typing import Any

from .kube import Kube, Obj, eventually, kubectl

BUSYBOX = "docker.io/library/busybox:1.37.0"
RESTRICTED_CONTAINER: dict[str, Any] = {
    "runAsNonRoot": True,
    "runAsUser": 65532,
    "runAsGroup": 65532,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
_RESOURCES = {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}}


def pod(
    name: str,
    namespace: str,
    script: str,
    *,
    image: str = BUSYBOX,
    security: dict[str, Any] | None = None,
    restart: str = "Never",
    volumes: list[dict[str, Any]] | None = None,
    mounts: list[dict[str, Any]] | None = None,
    labels: dict[str, str] | None = None,
    ports: list[dict[str, Any]] | None = None,
    readiness: dict[str, Any] | None = None,
    env: list[dict[str, Any]] | None = None,
) -> Obj:
    """A one-container pod running ``script`` with ``sh -c``."""
    container: dict[str, Any] = {
        "name": "main",
        "image": image,
        "command": ["sh", "-c", script],
        "env": env or [],
        "securityContext": RESTRICTED_CONTAINER if security is None else security,
        "resources": _RESOURCES,
        "volumeMounts": mounts or [],
        "ports": ports or [],
    }
    if readiness:
        container["readinessProbe"] = readiness
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": {
            "restartPolicy": restart,
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 1,
            "containers": [container],
            "volumes": volumes or [],
        },
    }


def claim(name: str, namespace: str, storage: str) -> Obj:
    """A ReadWriteOnce PersistentVolumeClaim of the cluster's default StorageClass, for a
    test pod's volume."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": storage}},
        },
    }


def phase(kube: Kube, name: str, namespace: str) -> str | None:
    live = kube.get("v1", "Pod", name, namespace)
    return live["status"].get("phase") if live else None


def finished(kube: Kube, name: str, namespace: str, *, timeout: float = 60.0) -> str:
    """Wait until the pod is Succeeded or Failed; return the phase."""
    result: str = eventually(
        lambda: (
            phase(kube, name, namespace) in ("Succeeded", "Failed") and phase(kube, name, namespace)
        ),
        timeout=timeout,
        what=f"pod {namespace}/{name} to finish",
    )
    return result


def ready(kube: Kube, name: str, namespace: str, *, timeout: float = 60.0) -> Obj:
    def check() -> Obj | None:
        live = kube.get("v1", "Pod", name, namespace)
        conditions = (live or {}).get("status", {}).get("conditions") or []
        if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
            return live
        return None

    result: Obj = eventually(check, timeout=timeout, what=f"pod {namespace}/{name} to be Ready")
    return result


def logs(kube: Kube, name: str, namespace: str) -> str:
    """What the pod printed, read with ``kubectl logs`` as a user would."""
    result = kubectl(kube.kubeconfig, "logs", "-n", namespace, name)
    assert result.returncode == 0, f"kubectl logs {name}: {result.stderr}"
    return result.stdout


def run(
    kube: Kube, namespace: str, script: str, *, timeout: float = 90.0, **options: Any
) -> tuple[str, str]:
    """Run ``script`` in a fresh pod to completion; (phase, output)."""
    name = f"run-{secrets.token_hex(3)}"
    kube.create(pod(name, namespace, script, **options))
    final = finished(kube, name, namespace, timeout=timeout)
    return final, logs(kube, name, namespace)


def scrape_metrics(kube: Kube, namespace: str, url: str) -> dict[str, str]:
    """The Prometheus samples ``url`` serves, read from a restricted pod in ``namespace``
    (retried for 20 s while the exporter starts), as {series: value}."""
    phase, scraped = run(
        kube,
        namespace,
        f"for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - {url} && exit 0; sleep 2; done; exit 1",
    )
    assert phase == "Succeeded", scraped
    return dict(
        line.rsplit(" ", 1) for line in scraped.splitlines() if line and not line.startswith("#")
    )
