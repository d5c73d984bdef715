"""Pod networking for the real node: the CNI network on our own bridge.

One bridge (``charthouse0``), host-local addresses from the node's pod subnet,
and routes to the pod and Service ranges only — no default route, no
masquerade, so a pod has no path off the machine. ``hairpinMode`` lets a pod
reach itself through its own Service; ``portmap`` serves ``hostPort`` on the
node address only. The plugin binaries are the pinned builds, linked into one
directory because containerd looks plugins up by file name.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from charthouse.cluster.providers.embedded import network

CNI_VERSION = "1.0.0"
# Plugin file name -> pin name in ci/tools.yaml.
PLUGINS = {
    "bridge": "cni-bridge",
    "host-local": "cni-host-local",
    "loopback": "cni-loopback",
    "portmap": "cni-portmap",
}
CONFLIST_NAME = "10-charthouse.conflist"


def conflist(ipam_dir: Path) -> dict[str, Any]:
    return {
        "cniVersion": CNI_VERSION,
        "name": network.CNI_NETWORK,
        "plugins": [
            {
                "type": "bridge",
                "bridge": network.BRIDGE,
                "isGateway": True,
                "isDefaultGateway": False,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [
                        [{"subnet": str(network.NODE_POD_CIDR), "gateway": str(network.NODE_IP)}]
                    ],
                    "routes": [
                        {"dst": str(network.CLUSTER_CIDR)},
                        {"dst": str(network.SERVICE_CIDR)},
                    ],
                    "dataDir": str(ipam_dir),
                },
            },
            {
                "type": "portmap",
                "capabilities": {"portMappings": True},
                "conditionsV4": ["-d", f"{network.NODE_IP}/32"],
            },
        ],
    }


def install_links(bin_dir: Path, binaries: Mapping[str, Path]) -> None:
    """Symlink ``name -> binary`` into ``bin_dir`` (atomically; existing links replaced)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, binary in binaries.items():
        link = bin_dir / name
        if link.is_symlink() and link.readlink() == binary:
            continue
        tmp = bin_dir / f".{name}.{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(binary)
        tmp.replace(link)


def install(bin_dir: Path, conf_dir: Path, ipam_dir: Path, binaries: Mapping[str, Path]) -> None:
    """Link the plugin binaries into ``bin_dir`` and write the one network config."""
    install_links(bin_dir, binaries)
    conf_dir.mkdir(parents=True, exist_ok=True)
    for stale in conf_dir.iterdir():
        if stale.name != CONFLIST_NAME:
            stale.unlink()
    target = conf_dir / CONFLIST_NAME
    tmp = conf_dir / f".{CONFLIST_NAME}.tmp"
    tmp.write_text(json.dumps(conflist(ipam_dir), indent=2) + "\n")
    tmp.replace(target)
