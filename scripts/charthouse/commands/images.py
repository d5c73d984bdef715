"""``charthouse images``: build the test images, push them, list what is built,
and load into a kind cluster the ones no public registry serves."""

from __future__ import annotations

import argparse
import sys

from charthouse.cluster.provider import DEFAULT_NAME
from charthouse.errors import ExitCode


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Images are built from pinned sources, cached by their inputs, and "
        "pushed to the local registry the cluster's containerd mirrors."
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    build = actions.add_parser("build", help="build every image (or NAME...) not yet current")
    build.add_argument("names", nargs="*", metavar="NAME", help="only these images (and bases)")
    build.add_argument("--force", action="store_true", help="rebuild even when current")
    build.set_defaults(func=_build)
    push = actions.add_parser("push", help="build where needed and push to a registry")
    push.add_argument("names", nargs="*", metavar="NAME", help="only these images (and bases)")
    push.add_argument(
        "--registry",
        metavar="HOST:PORT",
        help=(
            "a running registry (default: the running cluster's registry, else one started "
            "on the persistent data dir for the push)"
        ),
    )
    push.set_defaults(func=_push)
    listing = actions.add_parser(
        "list", help="each image reference: source, built, size, image ID, pushed digest"
    )
    listing.set_defaults(func=_list)
    kind_load = actions.add_parser(
        "kind-load",
        help="build (docker) the images no public registry serves and `kind load` them",
    )
    kind_load.add_argument(
        "--name", default=DEFAULT_NAME, help="the kind cluster (default: %(default)s)"
    )
    kind_load.set_defaults(func=_kind_load)


def _build(args: argparse.Namespace) -> int:
    from charthouse.images import builder

    for item in builder.build(args.names, force=args.force):
        state = "built" if item.rebuilt else "current"
        print(f"{item.spec.name:18} {state:8} {item.record.image_id[:19]}  {item.spec.ref}")
    return ExitCode.OK


def _push(args: argparse.Namespace) -> int:
    """Push to ``--registry``, else to the running cluster's registry (a second
    registry on the storage it serves would corrupt it), else to one started for
    the push. Pushed to the cluster's registry, the node pulls rebuilt tags again."""
    from charthouse.cluster.provider import state_dir
    from charthouse.cluster.providers.embedded.cluster import EmbeddedCluster
    from charthouse.images import ensure, registry

    cluster = EmbeddedCluster(state_dir())
    cluster_registry = cluster.registry_address()
    target = args.registry.removeprefix("http://") if args.registry else cluster_registry
    if target:
        if target == cluster_registry:
            say = f"charthouse: pushing to the running cluster's registry at {target}"
            print(say, file=sys.stderr)
        pushed = ensure(target, args.names)
        if target == cluster_registry:
            cluster.refresh_node_images({image.ref: image.image_id for image in pushed})
    else:
        with registry.running() as client:
            pushed = ensure(client.address, args.names)
    for image in pushed:
        print(f"{image.name:18} {image.digest}  {image.ref}")
    return ExitCode.OK


def _list(_args: argparse.Namespace) -> int:
    from charthouse.images import builder

    for item in builder.status():
        source = "stand-in" if item.spec.stand_in else "same source"
        if item.record is None:
            state, image_id, size = "missing", "-", "-"
        else:
            state = "built" if item.current else "outdated"
            image_id = item.record.image_id[:19]
            size = f"{item.record.size / 1e6:.0f}MB"
        for ref in item.spec.refs:  # one row per reference: extra tags are listed too
            record = item.record
            current = record is not None and record.pushed_image_id == record.image_id
            digests = record.pushed_digests if record is not None and current else {}
            pushed = digests.get(ref.tag, "")[:19] or "-"
            print(
                f"{item.spec.name:18} {source:11} {state:8} {size:>6} {image_id:19} "
                f"{pushed:19} {ref}"
            )
    return ExitCode.OK


def _kind_load(args: argparse.Namespace) -> int:
    from charthouse.images import kind

    loaded = kind.load(args.name)
    if not loaded:
        print("nothing to load: kind pulls every image of the catalog from its registry")
    for ref in loaded:
        print(f"loaded {ref} into kind cluster {args.name}")
    return ExitCode.OK
