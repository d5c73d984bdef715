"""Build the catalog's images in dependency order, each only when its cache key
changed or the store no longer holds the recorded image.

One build at a time per machine (a file lock): buildah's store and the records
are shared by every charthouse process. Each image's context is assembled in a
private staging directory (the image directory plus its staged inputs) and
removed afterwards, whatever happens.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from charthouse import paths
from charthouse.errors import CharthouseError
from charthouse.images import cachekey, records, sources
from charthouse.images.backends import Backend, LocalImage, detect
from charthouse.images.catalog import Catalog, ImageSpec, load
from charthouse.images.records import Record
from charthouse.locks import file_lock


def home() -> Path:
    """``$CHARTHOUSE_HOME/images``: store, records, sources, staging, registry data."""
    return paths.cache_home() / "images"


@dataclass(frozen=True)
class Built:
    spec: ImageSpec
    record: Record
    rebuilt: bool


@dataclass(frozen=True)
class Workspace:
    """The directories one build run uses (all under :func:`home`)."""

    root: Path

    @property
    def records(self) -> Path:
        return self.root / "records"

    @property
    def sources(self) -> Path:
        return self.root / "sources"

    @property
    def staging(self) -> Path:
        return self.root / "staging"

    @property
    def lock(self) -> Path:
        return self.root / ".build.lock"


def _say(message: str) -> None:
    print(f"charthouse: {message}", file=sys.stderr, flush=True)


def _build_one(
    spec: ImageSpec, catalog: Catalog, backend: Backend, workspace: Workspace, key: str
) -> Record:
    context = workspace.staging / f"{spec.name}.{os.getpid()}"
    replacements = workspace.staging / f"{spec.name}.{os.getpid()}.stages"
    for leftover in (context, replacements):
        shutil.rmtree(leftover, ignore_errors=True)
    started = time.monotonic()
    _say(f"building image {spec.ref} ({spec.name}) ...")
    try:
        shutil.copytree(spec.directory, context)
        staging = sources.Staging(spec, catalog, context, workspace.sources)
        sources.stage(staging)
        # A backend that pulls (docker) builds every stage as the Dockerfile says.
        stages = {} if backend.pulls_bases else sources.stage_replacements(staging, replacements)
        backend.build(
            context, str(spec.ref), spec.build_args, catalog.source_date_epoch, stages=stages
        )
    finally:
        for directory in (context, replacements):
            shutil.rmtree(directory, ignore_errors=True)
    seconds = time.monotonic() - started
    image = backend.images().get(str(spec.ref))
    if image is None:
        raise CharthouseError(f"{spec.name}: the build finished but {spec.ref} is not in the store")
    _say(f"built image {spec.ref} in {seconds:.0f}s ({image.size / 1e6:.0f} MB)")
    record = Record(
        name=spec.name,
        ref=str(spec.ref),
        key=key,
        image_id=image.image_id,
        backend=backend.name,
        size=image.size,
        seconds=round(seconds, 1),
        built_at=time.time(),
    )
    records.save(workspace.records, record)
    return record


def _current(
    spec: ImageSpec, key: str, workspace: Workspace, present: dict[str, LocalImage]
) -> Record | None:
    record = records.load(workspace.records, spec.name)
    image = present.get(str(spec.ref))
    if record is None or image is None:
        return None
    if record.key != key or record.image_id != image.image_id:
        return None
    return record


def _tag_aliases(
    spec: ImageSpec, record: Record, backend: Backend, present: dict[str, LocalImage]
) -> None:
    """Give the image its other tags in the store, where they do not point at it
    yet: a Dockerfile may build FROM one, and push and ``kind load`` take each
    reference from the store. Warm, this is a dictionary lookup per tag."""
    for alias in spec.refs[1:]:
        held = present.get(str(alias))
        if held is None or held.image_id != record.image_id:
            backend.tag(str(spec.ref), str(alias))


def build(
    names: Iterable[str] = (),
    *,
    catalog: Catalog | None = None,
    backend: Backend | None = None,
    force: bool = False,
) -> list[Built]:
    """Build ``names`` (default: every image) and their bases where needed; return
    all of them, base images first."""
    catalog = catalog or load()
    specs = catalog.order(names)
    workspace = Workspace(home())
    backend = backend or detect(workspace.root)
    result: list[Built] = []
    with file_lock(workspace.lock):
        present = backend.images()
        cleaned = False
        ids: dict[str, str] = {}
        for spec in specs:
            bases = {dep: ids[dep] for dep in catalog.dependencies(spec)}
            key = cachekey.key(spec, catalog, bases, backend.name)
            record = None if force else _current(spec, key, workspace, present)
            rebuilt = record is None
            if record is None:
                if not cleaned:
                    # We hold the lock: nothing else is building, so any working
                    # container or staging dir is a killed build's leftover.
                    backend.remove_leftovers()
                    shutil.rmtree(workspace.staging, ignore_errors=True)
                    cleaned = True
                record = _build_one(spec, catalog, backend, workspace, key)
            ids[spec.name] = record.image_id
            _tag_aliases(spec, record, backend, present)
            result.append(Built(spec, record, rebuilt))
        if cleaned:
            backend.remove_leftovers()  # the images the rebuilt ones replaced
    return result


@dataclass(frozen=True)
class Status:
    spec: ImageSpec
    record: Record | None
    current: bool


def status(catalog: Catalog | None = None, backend: Backend | None = None) -> list[Status]:
    """Each image's record and whether it is current, without building anything."""
    catalog = catalog or load()
    workspace = Workspace(home())
    backend = backend or detect(workspace.root)
    present = backend.images()
    ids: dict[str, str] = {}
    result: list[Status] = []
    for spec in catalog.order():
        bases = {dep: ids[dep] for dep in catalog.dependencies(spec)}
        key = cachekey.key(spec, catalog, bases, backend.name)
        current = _current(spec, key, workspace, present)
        record = current or records.load(workspace.records, spec.name)
        ids[spec.name] = record.image_id if record else ""
        result.append(Status(spec, record, current is not None))
    return result
