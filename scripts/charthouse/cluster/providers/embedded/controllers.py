"""The embedded cluster's own controllers, in one background process.

Runs the volume provisioner (:mod:`.storage`: directories on the host) and the
load-balancer allocator (:mod:`.loadbalancer`: loopback addresses) — the parts
a cloud or kind's add-ons provide elsewhere. ``charthouse cluster up`` starts it
detached as ``python -m charthouse.cluster.providers.embedded.controllers ...``;
``down`` stops it.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from charthouse.cluster.api import Client
from charthouse.cluster.providers.embedded.loadbalancer import LoadBalancers
from charthouse.cluster.providers.embedded.storage import PROVISIONER, Provisioner

log = logging.getLogger("charthouse.controllers")


Handler = Callable[[dict[str, Any]], None]


def _ignore(_obj: dict[str, Any]) -> None:
    return None


def informer(
    client: Client,
    path: str,
    handle: Handler,
    stop: threading.Event,
    deleted: Handler = _ignore,
) -> None:
    """List, then watch from the list's version; relist after any error or expiry."""
    while not stop.is_set():
        try:
            listing = client.get(path)
            for item in listing["items"]:
                handle(item)
            version = listing["metadata"]["resourceVersion"]
            for event in client.watch(path, version):
                if event["type"] in ("ADDED", "MODIFIED"):
                    handle(event["object"])
                elif event["type"] == "DELETED":
                    deleted(event["object"])
                elif event["type"] == "ERROR":  # e.g. 410 Gone: our version expired
                    break
        except Exception:
            log.exception("watch of %s failed; relisting", path)
            stop.wait(1.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--server", required=True)
    parser.add_argument("--ca", type=Path, required=True)
    parser.add_argument("--cert", type=Path, required=True)
    parser.add_argument("--key", type=Path, required=True)
    parser.add_argument("--volumes-dir", type=Path, required=True)
    parser.add_argument("--node", required=True, help="the node volumes are created on")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stdout
    )
    client = Client(args.server, args.ca, args.cert, args.key)
    provisioner = Provisioner(client, volumes_dir=args.volumes_dir, node=args.node)
    balancers = LoadBalancers(client)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    watches: tuple[tuple[str, Handler, Handler], ...] = (
        ("/api/v1/persistentvolumeclaims", provisioner.on_claim, _ignore),
        ("/api/v1/persistentvolumes", provisioner.on_volume, _ignore),
        ("/api/v1/services", balancers.on_service, balancers.on_deleted),
    )
    for path, handler, on_delete in watches:
        threading.Thread(
            target=informer, args=(client, path, handler, stop, on_delete), daemon=True
        ).start()
    log.info(
        "provisioner %s (volumes in %s) and load balancers running against %s",
        PROVISIONER,
        args.volumes_dir,
        args.server,
    )
    while not stop.wait(1.0):
        pass
    log.info("stopping")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
