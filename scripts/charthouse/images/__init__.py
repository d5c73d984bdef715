"""Container images of the embedded cluster's real node, built from pinned sources.

No registry outside is reachable here, so every image the charts name by default
(and every image the tests run) is built from ``images/<name>/`` with its inputs
pinned in ci/tools.yaml, cached by those inputs, and pushed to a local registry
that containerd uses as a mirror of the upstream registries.

- :func:`ensure` builds what is missing and pushes what the registry lacks;
- :func:`registry_argv` is the registry's command line for the cluster;
- :data:`PAUSE_IMAGE` and :data:`COREDNS_IMAGE` are the node's own images;
- :func:`for_kind` lists images a kind cluster must be given with ``kind load``;
- :func:`build_seconds` is what each image's last build took (benchmarks).
"""

from __future__ import annotations

from typing import Final

from charthouse.images.api import (
    MIRRORED_REGISTRIES,
    BuiltImage,
    build_seconds,
    ensure,
    for_kind,
)
from charthouse.images.catalog import load as load_catalog
from charthouse.images.registry import argv as registry_argv

_CATALOG = load_catalog()
# containerd's sandbox image (its config names it; the registry serves it).
PAUSE_IMAGE: Final[str] = str(_CATALOG.get("pause").ref)
# The cluster DNS Deployment's image.
COREDNS_IMAGE: Final[str] = str(_CATALOG.get("coredns").ref)

__all__ = [
    "COREDNS_IMAGE",
    "MIRRORED_REGISTRIES",
    "PAUSE_IMAGE",
    "BuiltImage",
    "build_seconds",
    "ensure",
    "for_kind",
    "registry_argv",
]
