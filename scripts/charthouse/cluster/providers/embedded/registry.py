"""The local image registry the real node pulls from, mirroring every upstream registry.

Images cannot be pulled from the internet here; they are built from pinned sources
(:mod:`charthouse.images`) and pushed to a CNCF distribution registry on 127.0.0.1.
containerd's ``hosts.toml`` for each upstream registry (docker.io, registry.k8s.io,
...) points at it (:mod:`.containerd`), so charts install with their default image
references. Its storage lives under ``$CHARTHOUSE_HOME/images/registry``: images
survive ``down``/``up`` and are pushed once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class NodeImages:
    """The images the node itself needs, by reference, and every reference the
    registry serves with its image ID (what the node's cache must match)."""

    sandbox: str
    dns: str
    served: Mapping[str, str] = field(default_factory=dict)


def mirrored_registries() -> Sequence[str]:
    from charthouse.images import MIRRORED_REGISTRIES

    return MIRRORED_REGISTRIES


def argv(binary: Path, address: str) -> list[str | Path]:
    from charthouse.images import registry_argv

    return registry_argv(binary, address)


def env() -> Mapping[str, str]:
    from charthouse.images.registry import ENV

    return ENV


def ensure_images(address: str) -> NodeImages:
    """Build what is missing, push what the registry lacks; the node's own image refs."""
    from charthouse.images import COREDNS_IMAGE, PAUSE_IMAGE, ensure

    served = {image.ref: image.image_id for image in ensure(address)}
    return NodeImages(sandbox=PAUSE_IMAGE, dns=COREDNS_IMAGE, served=served)
