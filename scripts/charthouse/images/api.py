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
from charthouse.images.registry import Client
from charthouse.locks import file_lock

# Upstream registries the local registry stands in for: containerd gets a
# hosts.toml mirror entry for each, so charts pull with default references.
MIRRORED_REGISTRIES: tuple[str, ...] = ("docker.io", "registry.k8s.io", "quay.io", "ghcr.io")


@dataclass(frozen=True)
class BuiltImage:
    """An image in the local registry: its upstream reference, where the registry
    serves it, and the manifest digest it serves."""

    name: str
    ref: str
    local_ref: str
    digest: str
    image_id: str
    stand_in: bool


def ensure(
    registry: str, names: Iterable[str] = (), *, catalog: Catalog | None = None
) -> list[BuiltImage]:
    """Build the images (default: all) where needed and push each one the registry at
    ``registry`` (127.0.0.1:PORT) does not hold yet; base images come first."""
    catalog = catalog or load()
    workspace = builder.Workspace(builder.home())
    backend = detect(workspace.root)
    built = builder.build(names, catalog=catalog, backend=backend)
    client = Client(registry.removeprefix("http://"))
    result = []
    with file_lock(workspace.lock):
        for item in built:
            record = records.load(workspace.records, item.spec.name) or item.record
            result.append(_push(item.spec, record, client, backend, workspace))
    return result


def _push(
    spec: ImageSpec,
    record: records.Record,
    client: Client,
    backend: Backend,
    workspace: builder.Workspace,
) -> BuiltImage:
    digest = client.digest(spec.ref.path, spec.ref.tag)
    if not record.pushed(digest):
        print(f"charthouse: pushing {spec.ref} to {client.address}", file=sys.stderr, flush=True)
        backend.push(str(spec.ref), spec.ref.on(client.address))
        digest = client.digest(spec.ref.path, spec.ref.tag)
        if digest is None:
            raise CharthouseError(f"{spec.ref}: pushed to {client.address} but not found there")
        record = dataclasses.replace(record, pushed_digest=digest, pushed_image_id=record.image_id)
        records.save(workspace.records, record)
    assert digest is not None
    return BuiltImage(
        name=spec.name,
        ref=str(spec.ref),
        local_ref=spec.ref.on(client.address),
        digest=digest,
        image_id=record.image_id,
        stand_in=spec.stand_in,
    )


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
