"""SIMULATION: a volume provisioner for the embedded cluster that stores nothing.

It plays the part of an external CSI provisioner: when the real PV controller
(in kube-controller-manager) marks a claim of our StorageClass as waiting for
``charthouse.dev/simulated``, this creates a PersistentVolume pre-bound to the
claim; the PV controller then binds them exactly as in a real cluster. When a
claim is deleted and its volume is Released with reclaim policy Delete, the
volume is deleted. Growing a claim's request grows the volume (online resize).

The volumes point at a CSI driver, ``simulated.charthouse.dev``, that does not
exist: no node mounts anything (kwok runs no containers), and nothing touches
the host file system (no hostPath). What it proves: claims bind, StatefulSet
claim templates work, ``helm uninstall`` leaves a kept claim and its volume in
place, a reinstall reuses them. It says nothing about data on disk.

It runs inside the simulated-controllers process (:mod:`charthouse.cluster.controllers`).
"""

from __future__ import annotations

import logging
from typing import Any

from charthouse.cluster.api import ApiError, Client

PROVISIONER = "charthouse.dev/simulated"
CSI_DRIVER = "simulated.charthouse.dev"
STORAGE_CLASS = "standard"

log = logging.getLogger("charthouse.provisioner")


def storage_objects() -> list[tuple[str, dict[str, Any]]]:
    """(URL, object) pairs for the default StorageClass and the driver it names.

    ``attachRequired: false`` keeps the attach/detach controller from creating
    VolumeAttachments that nothing would ever attach.
    """
    storage_class = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": STORAGE_CLASS,
            "annotations": {
                "storageclass.kubernetes.io/is-default-class": "true",
                "charthouse.dev/simulated": "volumes are simulated; no data is stored",
            },
        },
        "provisioner": PROVISIONER,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate",
        "allowVolumeExpansion": True,
    }
    driver = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "CSIDriver",
        "metadata": {"name": CSI_DRIVER},
        "spec": {"attachRequired": False, "podInfoOnMount": False},
    }
    return [
        (f"/apis/storage.k8s.io/v1/storageclasses/{STORAGE_CLASS}", storage_class),
        (f"/apis/storage.k8s.io/v1/csidrivers/{CSI_DRIVER}", driver),
    ]


def volume_for(claim: dict[str, Any], reclaim_policy: str = "Delete") -> dict[str, Any]:
    """The PersistentVolume that satisfies ``claim``, pre-bound to it by UID."""
    meta, spec = claim["metadata"], claim["spec"]
    name = f"pvc-{meta['uid']}"
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {
            "name": name,
            "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER},
        },
        "spec": {
            "capacity": {"storage": spec["resources"]["requests"]["storage"]},
            "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
            "volumeMode": spec.get("volumeMode", "Filesystem"),
            "storageClassName": spec.get("storageClassName", STORAGE_CLASS),
            "persistentVolumeReclaimPolicy": reclaim_policy,
            "claimRef": {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "namespace": meta["namespace"],
                "name": meta["name"],
                "uid": meta["uid"],
            },
            "csi": {"driver": CSI_DRIVER, "volumeHandle": name},
        },
    }


def wants_volume(claim: dict[str, Any]) -> bool:
    """A pending claim that the PV controller handed to us."""
    meta = claim["metadata"]
    annotations = meta.get("annotations") or {}
    return (
        annotations.get("volume.kubernetes.io/storage-provisioner") == PROVISIONER
        and not claim["spec"].get("volumeName")
        and "deletionTimestamp" not in meta
    )


def reclaimable(volume: dict[str, Any]) -> bool:
    """A volume we provisioned whose claim is gone and whose policy says delete."""
    annotations = volume["metadata"].get("annotations") or {}
    return (
        annotations.get("pv.kubernetes.io/provisioned-by") == PROVISIONER
        and volume["spec"].get("persistentVolumeReclaimPolicy") == "Delete"
        and volume.get("status", {}).get("phase") == "Released"
        and "deletionTimestamp" not in volume["metadata"]
    )


class Provisioner:
    def __init__(self, client: Client) -> None:
        self.client = client

    def on_claim(self, claim: dict[str, Any]) -> None:
        meta = claim["metadata"]
        if wants_volume(claim):
            volume = volume_for(claim)
            try:
                self.client.create("/api/v1/persistentvolumes", volume)
                log.info(
                    "provisioned %s for %s/%s",
                    volume["metadata"]["name"],
                    meta["namespace"],
                    meta["name"],
                )
            except ApiError as exc:
                if exc.status != 409:  # already provisioned on an earlier event
                    raise
            return
        self._resize(claim)

    def _resize(self, claim: dict[str, Any]) -> None:
        """Grow the volume and the claim's status when the request grew (simulated resize)."""
        volume_name = claim["spec"].get("volumeName")
        wanted = claim["spec"]["resources"]["requests"].get("storage")
        have = (claim.get("status") or {}).get("capacity", {}).get("storage")
        if not volume_name or not have or wanted == have or claim["status"].get("phase") != "Bound":
            return
        if _quantity(wanted) <= _quantity(have):
            return
        try:
            volume = self.client.get(f"/api/v1/persistentvolumes/{volume_name}")
        except ApiError:
            return
        if (volume["metadata"].get("annotations") or {}).get(
            "pv.kubernetes.io/provisioned-by"
        ) != PROVISIONER:
            return
        meta = claim["metadata"]
        self.client.request(
            "PATCH",
            f"/api/v1/persistentvolumes/{volume_name}",
            {"spec": {"capacity": {"storage": wanted}}},
            content_type="application/merge-patch+json",
        )
        self.client.request(
            "PATCH",
            f"/api/v1/namespaces/{meta['namespace']}/persistentvolumeclaims/{meta['name']}/status",
            {"status": {"capacity": {"storage": wanted}}},
            content_type="application/merge-patch+json",
        )
        log.info("resized %s to %s", volume_name, wanted)

    def on_volume(self, volume: dict[str, Any]) -> None:
        if reclaimable(volume):
            name = volume["metadata"]["name"]
            self.client.delete(f"/api/v1/persistentvolumes/{name}")
            log.info("deleted released volume %s", name)


_SUFFIXES = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
}


def _quantity(text: str) -> float:
    """Bytes in a storage quantity like ``8Gi`` or ``500M`` (enough for comparisons)."""
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * _SUFFIXES[suffix]
    return float(text)
