"""The cache key of an image: everything its content depends on, and nothing else.

An image is rebuilt exactly when this key changes: a file of its directory, its
catalog entry (reference and extra tags, build arguments, context inputs, the
files standing for replaced stages, and the pins behind them), the image IDs of
the catalog images it is built FROM, the timestamp pin, the backend, or
:data:`BUILDER_VERSION` (bumped when the way images are staged or built changes).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from charthouse.digest import tree_digest
from charthouse.images import sources
from charthouse.images.catalog import Catalog, ImageSpec

BUILDER_VERSION = 1


def inputs(
    spec: ImageSpec, catalog: Catalog, bases: Mapping[str, str], backend: str
) -> dict[str, object]:
    """The key's inputs as data (also recorded with the image, to explain a rebuild)."""
    data: dict[str, object] = {
        "builder": BUILDER_VERSION,
        "backend": backend,
        "ref": str(spec.ref),
        "buildArgs": dict(sorted(spec.build_args.items())),
        "context": sources.fingerprints(spec, catalog),
        "files": tree_digest(spec.directory),
        "bases": dict(sorted(bases.items())),
        "sourceDateEpoch": catalog.source_date_epoch,
    }
    # The tags an image is published under are part of what its build produces;
    # absent when there are none, so the keys of single-tag images stay as they were.
    if spec.also_tagged:
        data["alsoTagged"] = list(spec.also_tagged)
    # Likewise the files standing for replaced stages, present only where there are such.
    if spec.stages:
        data["stages"] = sources.stage_fingerprints(spec, catalog)
    return data


def key(spec: ImageSpec, catalog: Catalog, bases: Mapping[str, str], backend: str) -> str:
    payload = json.dumps(inputs(spec, catalog, bases, backend), sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()
