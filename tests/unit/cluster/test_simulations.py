"""The simulated pieces' decisions (provisioner, load balancers, kwok stages)."""

from __future__ import annotations

from typing import Any

from charthouse.cluster import loadbalancer, provisioner, simulation


def claim(**annotations: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "data", "namespace": "ns", "uid": "1234", "annotations": annotations},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "2Gi"}},
            "storageClassName": "standard",
        },
    }


def test_provisions_only_claims_handed_to_it() -> None:
    ours = claim(**{"volume.kubernetes.io/storage-provisioner": provisioner.PROVISIONER})
    assert provisioner.wants_volume(ours)
    assert not provisioner.wants_volume(claim(**{"volume.kubernetes.io/storage-provisioner": "x"}))
    bound = claim(**{"volume.kubernetes.io/storage-provisioner": provisioner.PROVISIONER})
    bound["spec"]["volumeName"] = "pvc-1234"
    assert not provisioner.wants_volume(bound)


def test_volume_is_prebound_to_the_claim_and_stores_nothing_on_the_host() -> None:
    volume = provisioner.volume_for(claim())
    spec = volume["spec"]
    assert spec["claimRef"] == {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "namespace": "ns",
        "name": "data",
        "uid": "1234",
    }
    assert spec["capacity"] == {"storage": "2Gi"}
    assert "hostPath" not in spec and spec["csi"]["driver"] == provisioner.CSI_DRIVER


def test_only_our_released_delete_volumes_are_reclaimed() -> None:
    volume = provisioner.volume_for(claim())
    volume["status"] = {"phase": "Released"}
    assert provisioner.reclaimable(volume)
    volume["spec"]["persistentVolumeReclaimPolicy"] = "Retain"
    assert not provisioner.reclaimable(volume)


def test_load_balancer_address_is_stable_and_in_the_documentation_range() -> None:
    service = {
        "metadata": {"uid": "0f8e7d6c-0000-4000-8000-000000000001"},
        "spec": {"type": "LoadBalancer"},
        "status": {},
    }
    assert loadbalancer.needs_address(service)
    address = loadbalancer.address_for(service)
    assert address == loadbalancer.address_for(service)
    assert address.startswith("203.0.113.")
    service["spec"]["loadBalancerClass"] = "example.com/other"
    assert not loadbalancer.needs_address(service)


def test_stages_cover_the_promised_lifecycles() -> None:
    stages = {s["metadata"]["name"]: s["spec"] for s in simulation.stages()}
    assert set(stages) == {
        "node-initialize",
        "pod-ready",
        "pod-complete-job",
        "pod-complete-helm-test",
        "pod-delete",
    }
    job = stages["pod-complete-job"]["selector"]["matchExpressions"]
    assert {"key": ".metadata.ownerReferences.[].kind", "operator": "In", "values": ["Job"]} in job
    hook = stages["pod-complete-helm-test"]["selector"]["matchExpressions"][-1]
    assert hook["values"] == ["test", "test-success"]
    assert stages["pod-complete-job"]["next"]["statusTemplate"].rstrip().endswith("Succeeded")
