"""The real node's image cache follows the local registry.

containerd keeps every image it pulled, by tag, across pods and across the
cluster's down/up, and kubelet pulls a tag only when the node lacks it (the
``IfNotPresent`` default of every tagged image). An image rebuilt under the same
tag (busybox 1.37.0 from source, after Debian's build) would never reach a pod:
so after a push, each tag the node holds under another image ID is pulled again,
through crictl, from the local registry. Image IDs are config digests on both
sides (buildah's and the CRI's), so the comparison is exact.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from charthouse.proc import run

_PULL_TIMEOUT = 300.0


def stale(held: Mapping[str, str], wanted: Mapping[str, str]) -> list[str]:
    """The references the node holds under another image ID than ``wanted``'s
    (reference -> image ID); references the node never pulled are left alone."""
    return sorted(ref for ref, image_id in wanted.items() if held.get(ref, image_id) != image_id)


def held(crictl: Path, socket: Path) -> dict[str, str]:
    """Every tag containerd's CRI image store holds: reference -> image ID."""
    out = run([*_crictl(crictl, socket), "images", "-o", "json"], timeout=60).stdout
    result = {}
    for image in json.loads(out or "{}").get("images") or []:
        for tag in image.get("repoTags") or []:
            result[str(tag)] = str(image.get("id", ""))
    return result


def refresh(crictl: Path, socket: Path, wanted: Mapping[str, str]) -> list[str]:
    """Pull again every stale reference (see :func:`stale`); the references pulled."""
    pulled = stale(held(crictl, socket), wanted)
    for ref in pulled:
        run([*_crictl(crictl, socket), "pull", ref], timeout=_PULL_TIMEOUT)
    return pulled


def _crictl(crictl: Path, socket: Path) -> list[str | Path]:
    endpoint = f"unix://{socket}"
    return [crictl, "--runtime-endpoint", endpoint, "--image-endpoint", endpoint]
