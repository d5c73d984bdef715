"""Images a kind cluster cannot pull, given to it with ``kind load docker-image``.

On kind every upstream image is pulled from its registry: only the catalog's
``kindLoad`` images (no public registry serves them, e.g. an example app of our
own) are built here, with the docker backend since kind's nodes are Docker
containers and ``kind load docker-image`` reads the engine's store, and then
loaded into every node of the cluster under each of their references.
"""

from __future__ import annotations

from charthouse import tools
from charthouse.images import builder
from charthouse.images.api import for_kind
from charthouse.images.backends import Docker
from charthouse.images.catalog import Catalog
from charthouse.images.catalog import load as load_catalog
from charthouse.proc import run

_LOAD_TIMEOUT = 1800.0


def load(cluster: str, catalog: Catalog | None = None) -> list[str]:
    """Build the kind images (and their bases) with docker where needed and load
    them into the kind cluster ``cluster``; the references loaded (none when the
    catalog has no such image: nothing is built, docker and kind are not run)."""
    catalog = catalog or load_catalog()
    specs = for_kind(catalog)
    if not specs:
        return []
    builder.build([spec.name for spec in specs], catalog=catalog, backend=Docker())
    refs = [str(ref) for spec in specs for ref in spec.refs]
    kind = tools.ensure_tool("kind")
    run([kind, "load", "docker-image", *refs, "--name", cluster], timeout=_LOAD_TIMEOUT)
    return refs
