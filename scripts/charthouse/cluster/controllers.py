"""SIMULATION: the background process standing in for a cloud's storage and load balancers.

Runs the simulated volume provisioner (:mod:`charthouse.cluster.provisioner`) and
the simulated load-balancer controller (:mod:`charthouse.cluster.loadbalancer`)
against the embedded cluster. ``charthouse cluster up`` starts it detached as
``python -m charthouse.cluster.controllers ...``; ``down`` stops it.
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
from charthouse.cluster.loadbalancer import LoadBalancers
from charthouse.cluster.provisioner import PROVISIONER, Provisioner

log = logging.getLogger("charthouse.controllers")


def informer(
    client: Client, path: str, handle: Callable[[dict[str, Any]], None], stop: threading.Event
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
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stdout
    )
    client = Client(args.server, args.ca, args.cert, args.key)
    provisioner, balancers = Provisioner(client), LoadBalancers(client)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    watches = (
        ("/api/v1/persistentvolumeclaims", provisioner.on_claim),
        ("/api/v1/persistentvolumes", provisioner.on_volume),
        ("/api/v1/services", balancers.on_service),
    )
    for path, handler in watches:
        threading.Thread(target=informer, args=(client, path, handler, stop), daemon=True).start()
    log.info(
        "simulated provisioner %s and load balancers running against %s", PROVISIONER, args.server
    )
    while not stop.wait(1.0):
        pass
    log.info("stopping")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
