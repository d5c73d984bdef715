"""What the cluster asks of the images: build what is missing, push what the
registry lacks, and the references it needs (sandbox, DNS, mirrored registries)."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from charthouse.errors import CharthouseError
from charthouse.images import builder, records
from charthouse.images.backends import Backend, detect
from charthouse.images.catalog import Catalog, ImageSpec, load
from charthouse.images.reference import Reference
from charthouse.images.registry import Client
from charthouse.locks import file_lock

# Upstream registries the local registry stands in for: containerd gets a
# hosts.toml mirror entry for each, so charts pull with default references.
MIRRORED_REGISTRIES: tuple[str, ...] = ("docker.io", "registry.k8s.io", "quay.io", "ghcr.io")


@dataclass(frozen=True)
class BuiltImage:
    """An image in the local registry under one of its references: the upstream
    reference, where the registry serves it, and the manifest digest it serves."""

    name: str
    ref: str
    local_ref: str
    digest: str
    image_id: str
    stand_in: bool


def ensure(
    registry: str,
    names: Iterable[str] = (),
    *,
    catalog: Catalog | None = None,
    backend: Backend | None = None,
) -> list[BuiltImage]:
    """Build the images (default: all) where needed and push each reference the
    registry at ``registry`` (127.0.0.1:PORT) does not hold yet; base images come
    first, and an image with extra tags gives one entry per tag."""
    catalog = catalog or load()
    workspace = builder.Workspace(builder.home())
    backend = backend or detect(workspace.root)
    built = builder.build(names, catalog=catalog, backend=backend)
    client = Client(registry.removeprefix("http://"))
    result = []
    with file_lock(workspace.lock):
        for item in built:
            record = records.load(workspace.records, item.spec.name) or item.record
            for ref in item.spec.refs:
                pushed, image = _push(item.spec, ref, record, client, backend)
                if pushed != record:
                    records.save(workspace.records, pushed)
                    record = pushed
                result.append(image)
    return result


def _push(
    spec: ImageSpec, ref: Reference, record: records.Record, client: Client, backend: Backend
) -> tuple[records.Record, BuiltImage]:
    """Push ``ref`` unless the registry already serves this image under it; the
    record that says so, and what the registry serves."""
    digest = client.digest(ref.path, ref.tag)
    if not record.pushed(ref.tag, digest):
        print(f"charthouse: pushing {ref} to {client.address}", file=sys.stderr, flush=True)
        backend.push(str(ref), ref.on(client.address))
        digest = client.digest(ref.path, ref.tag)
        if digest is None:
            raise CharthouseError(f"{ref}: pushed to {client.address} but not found there")
        # Tags pushed for an earlier image are stale: only this image's count.
        kept = record.pushed_digests if record.pushed_image_id == record.image_id else {}
        record = dataclasses.replace(
            record,
            pushed_image_id=record.image_id,
            pushed_digests={**kept, ref.tag: digest},
        )
    assert digest is not None
    image = BuiltImage(
        name=spec.name,
        ref=str(ref),
        local_ref=ref.on(client.address),
        digest=digest,
        image_id=record.image_id,
        stand_in=spec.stand_in,
    )
    return record, image


def build_seconds(catalog: Catalog | None = None) -> dict[str, float]:
    """Seconds each image's last build took (images never built here are absent):
    what a cold machine pays, for the benchmarks."""
    directory = builder.Workspace(builder.home()).records
    result = {}
    for name in (catalog or load()).images:
        record = records.load(directory, name)
        if record is not None:
            result[name] = record.seconds
    return result


def for_kind(catalog: Catalog | None = None) -> list[ImageSpec]:
    """Images no public registry serves, which a kind cluster must be given with
    ``kind load`` (on kind every other image is the real upstream one, pulled)."""
    return [spec for spec in (catalog or load()).images.values() if spec.kind_load]
