"""The embedded cluster's default StorageClass ``standard``: volumes are directories on the host.

Like kind's ``standard`` class (local-path-provisioner), a claim gets a
PersistentVolume of type ``local`` backed by a fresh directory under the
cluster's state dir (``<state>/volumes/<pv-name>``), pinned to the node by
node affinity. The real PV controller hands claims to this provisioner and
binds them; kubelet bind-mounts the directory into pods (applying ``fsGroup``),
so data written by a pod is on disk and survives the pod, a ``helm uninstall``
that keeps the claim, and a cluster ``down``/``up``.

When a claim is deleted and its volume is Released with reclaim policy Delete,
the directory and the volume are deleted; with Retain both stay. Capacity is
recorded, not enforced (a directory has no quota), and growing a claim only
updates the recorded size — as with local-path.

It runs inside the controllers process (:mod:`.controllers`).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from charthouse.cluster.api import ApiError, Client

PROVISIONER = "charthouse.dev/local-path"
STORAGE_CLASS = "standard"

log = logging.getLogger("charthouse.provisioner")


def storage_objects() -> list[tuple[str, dict[str, Any]]]:
    """(URL, object) pairs for the default StorageClass."""
    storage_class = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": STORAGE_CLASS,
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": PROVISIONER,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate",
        "allowVolumeExpansion": True,
    }
    return [(f"/apis/storage.k8s.io/v1/storageclasses/{STORAGE_CLASS}", storage_class)]


def volume_for(
    claim: dict[str, Any], *, path: Path, node: str, reclaim_policy: str = "Delete"
) -> dict[str, Any]:
    """The ``local`` PersistentVolume at ``path`` on ``node`` that satisfies ``claim``,
    pre-bound to it by UID."""
    meta, spec = claim["metadata"], claim["spec"]
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {
            "name": volume_name(claim),
            "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER},
        },
        "spec": {
            "capacity": {"storage": spec["resources"]["requests"]["storage"]},
            "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
            "volumeMode": "Filesystem",
            "storageClassName": spec.get("storageClassName", STORAGE_CLASS),
            "persistentVolumeReclaimPolicy": reclaim_policy,
            "claimRef": {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "namespace": meta["namespace"],
                "name": meta["name"],
                "uid": meta["uid"],
            },
            "local": {"path": str(path)},
            "nodeAffinity": {
                "required": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {
                                    "key": "kubernetes.io/hostname",
                                    "operator": "In",
                                    "values": [node],
                                }
                            ]
                        }
                    ]
                }
            },
        },
    }


def volume_name(claim: dict[str, Any]) -> str:
    return f"pvc-{claim['metadata']['uid']}"


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
    def __init__(self, client: Client, *, volumes_dir: Path, node: str) -> None:
        self.client = client
        self.volumes_dir = volumes_dir
        self.node = node

    def on_claim(self, claim: dict[str, Any]) -> None:
        meta = claim["metadata"]
        if wants_volume(claim):
            if claim["spec"].get("volumeMode") == "Block":
                log.warning(
                    "%s/%s: block volumes are not supported", meta["namespace"], meta["name"]
                )
                return
            path = self.volumes_dir / volume_name(claim)
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(0o777)  # pods run as any uid; fsGroup narrows it per pod
            volume = volume_for(claim, path=path, node=self.node)
            try:
                self.client.create("/api/v1/persistentvolumes", volume)
                log.info("provisioned %s for %s/%s", path, meta["namespace"], meta["name"])
            except ApiError as exc:
                if exc.status != 409:  # already provisioned on an earlier event
                    raise
            return
        self._resize(claim)

    def _resize(self, claim: dict[str, Any]) -> None:
        """Record a grown request on the volume and the claim (the directory has no quota)."""
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
        if not reclaimable(volume):
            return
        name = volume["metadata"]["name"]
        path = Path((volume["spec"].get("local") or {}).get("path", ""))
        if path.parent == self.volumes_dir and path.name == name:  # never outside our dir
            shutil.rmtree(path, ignore_errors=True)
        self.client.delete(f"/api/v1/persistentvolumes/{name}")
        log.info("deleted released volume %s and its data", name)


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
