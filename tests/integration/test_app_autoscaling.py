"""The app chart's HorizontalPodAutoscaler scaling for real: metrics-server reads each
pod's CPU from the kubelet, CPU load comes through the Service, and the HPA controller
adds pods that become Ready. A later ``helm upgrade`` keeps the HPA's scale, because
the chart renders no ``spec.replicas`` when autoscaling is on (with Helm 4's
server-side apply, a rendered count would take the field back from the HPA)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest

from .harness import Deployer
from .helm import Helm
from .kube import Kube, Obj, eventually, kubectl
from .load import Load, wait_until_serving

pytestmark = pytest.mark.integration

# A small CPU request and a low target, so a light load on a shared two-core machine
# crosses it; replicaCount 1 so a count rendered by the chart would show as a reset.
VALUES: dict[str, Any] = {
    "replicaCount": 1,
    "autoscaling": {
        "enabled": True,
        "minReplicas": 1,
        "maxReplicas": 3,
        "targetCPUUtilizationPercentage": 50,
    },
    "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}},
}
# whoami's /data writes 1 MiB of filler in 64-byte lines per answer: CPU spent in the pod.
BURN = "data?size=1&unit=MB"
RATE = 8  # requests per second
SCALE_UP_TIMEOUT = 300.0
HELM_MANAGERS = ("helm", "Helm")


@dataclass(frozen=True)
class Sample:
    """One look at the HPA and its Deployment."""

    seconds: float
    utilisation: int | None  # average CPU, percent of the request, as the HPA read it
    desired: int
    current: int
    ready: int


def _deployment(kube: Kube, namespace: str) -> Obj:
    found = kube.get("apps/v1", "Deployment", "app", namespace)
    assert found is not None, "Deployment app not found"
    return found


def _sample(kube: Kube, namespace: str, started: float) -> Sample:
    hpa = kube.get("autoscaling/v2", "HorizontalPodAutoscaler", "app", namespace) or {}
    status = hpa.get("status") or {}
    utilisation = None
    for metric in status.get("currentMetrics") or []:
        resource = metric.get("resource") or {}
        if resource.get("name") == "cpu":
            utilisation = (resource.get("current") or {}).get("averageUtilization")
    deployment = _deployment(kube, namespace)
    return Sample(
        seconds=round(time.monotonic() - started, 1),
        utilisation=utilisation,
        desired=int(status.get("desiredReplicas") or 0),
        current=int(status.get("currentReplicas") or 0),
        ready=int((deployment.get("status") or {}).get("readyReplicas") or 0),
    )


def _watch(
    kube: Kube, namespace: str, started: float, samples: list[Sample], done: Any, what: str
) -> Sample:
    """Sample until ``done(sample)``; keep each sample that differs from the last."""

    def look() -> Sample | None:
        sample = _sample(kube, namespace, started)
        last = samples[-1] if samples else None
        if last is None or (sample.utilisation, sample.desired, sample.ready) != (
            last.utilisation,
            last.desired,
            last.ready,
        ):
            samples.append(sample)
        return sample if done(sample) else None

    found: Sample = eventually(look, timeout=SCALE_UP_TIMEOUT, what=what)
    return found


def _replicas_owners(deployment: Obj) -> list[str]:
    """The field managers owning ``spec.replicas`` (with their subresource)."""
    owners = []
    for entry in deployment["metadata"].get("managedFields") or []:
        spec = (entry.get("fieldsV1") or {}).get("f:spec") or {}
        if "f:replicas" in spec:
            owners.append(f"{entry['manager']}/{entry.get('subresource', '')}")
    return owners


@pytest.mark.parametrize("helm", [4], indirect=True, ids=["helm4"])
def test_hpa_scales_up_under_cpu_load_and_an_upgrade_keeps_the_scale(
    helm: Helm, deploy: Deployer, kube: Kube, namespace: str, metrics_api: str
) -> None:
    print(f"\nmetrics API: {metrics_api}")
    release = deploy("app", helm, values=VALUES)
    rendered = [o for o in helm.manifest("app", namespace) if o["kind"] == "Deployment"]
    assert rendered and all("replicas" not in o["spec"] for o in rendered), rendered

    started = time.monotonic()
    samples: list[Sample] = []
    _watch(
        kube,
        namespace,
        started,
        samples,
        lambda s: s.utilisation is not None,
        "the HPA to read a CPU figure from metrics-server",
    )
    idle = samples[-1]
    assert idle.desired == 1, samples

    svc = kube.get("v1", "Service", "app", namespace)
    assert svc is not None
    base = f"http://{svc['spec']['clusterIP']}:{svc['spec']['ports'][0]['port']}/"
    wait_until_serving(base)
    load_started = time.monotonic()
    with Load(base + BURN, rate=RATE, keepalive=True, timeout=20, max_body=0) as load:
        scaled = _watch(
            kube,
            namespace,
            started,
            samples,
            lambda s: s.desired > 1,
            "the HPA to want more than one pod",
        )
        desired_after = time.monotonic() - load_started
        ready = _watch(
            kube,
            namespace,
            started,
            samples,
            lambda s: s.ready >= scaled.desired and s.current >= scaled.desired,
            f"{scaled.desired} pods Ready",
        )
        ready_after = time.monotonic() - load_started
        top = kubectl(kube.kubeconfig, "top", "pods", "-n", namespace)
    print(f"load: {RATE}/s GET /{BURN}: {load.results.summary()}")
    print(f"kubectl top pods (under load):\n{top.stdout}{top.stderr}")

    pods = kube.pods(namespace, labels="app.kubernetes.io/instance=app")
    live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    ready_pods = [
        p
        for p in live
        if any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in (p.get("status") or {}).get("conditions") or []
        )
    ]
    assert len(ready_pods) >= scaled.desired > 1, [p["metadata"]["name"] for p in live]
    scaled_to = _deployment(kube, namespace)["spec"]["replicas"]
    assert scaled_to == ready.desired > 1

    # Helm 4 applies the chart server-side: with no replicas rendered, helm owns no
    # spec.replicas, so the upgrade (a config change that rolls the pods) leaves the
    # HPA's count alone. The scale-down window (5 minutes by default) outlasts it.
    deploy.upgrade(release, values=VALUES, set_values=["config.env.LOG_LEVEL=debug"])
    after = _deployment(kube, namespace)
    owners = _replicas_owners(after)
    assert not any(owner.startswith(HELM_MANAGERS) for owner in owners), owners
    assert after["spec"]["replicas"] == scaled_to, (after["spec"]["replicas"], owners)
    after_upgrade = _sample(kube, namespace, started)
    samples.append(after_upgrade)

    print(f"seconds until the HPA read its first CPU figure: {idle.seconds:.1f}")
    print(f"seconds from load start to desiredReplicas > 1: {desired_after:.1f}")
    print(f"seconds from load start to {scaled.desired} pods Ready: {ready_after:.1f}")
    print(f"spec.replicas owners after the upgrade: {owners}")
    print("t(s)   cpu% desired current ready")
    for s in samples:
        cpu = "-" if s.utilisation is None else str(s.utilisation)
        print(f"{s.seconds:6.1f} {cpu:>5} {s.desired:>7} {s.current:>7} {s.ready:>5}")
