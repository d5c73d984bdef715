"""Kubeconfig files for the embedded cluster's users, referring to certificate files.

Kept apart from :mod:`charthouse.cluster.pki` so that reading or writing a
kubeconfig never loads the cryptography library (``cluster status`` stays fast).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from charthouse import atomicfile


def kubeconfig(
    *, cluster: str, server: str, ca_cert: Path, client_cert: Path, client_key: Path, user: str
) -> dict[str, Any]:
    """A kubeconfig referring to certificate files, so rotating them needs no rewrite."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": cluster, "cluster": {"server": server, "certificate-authority": str(ca_cert)}}
        ],
        "users": [
            {
                "name": user,
                "user": {"client-certificate": str(client_cert), "client-key": str(client_key)},
            }
        ],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": user}}],
        "current-context": cluster,
        "preferences": {},
    }


def write(path: Path, config: dict[str, Any]) -> None:
    """Write ``config`` readable by the owner only (it names private key files)."""
    import yaml

    atomicfile.write(path, yaml.safe_dump(config, sort_keys=False), mode=0o600, fsync=False)
