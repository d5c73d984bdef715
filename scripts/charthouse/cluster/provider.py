"""Where a test cluster comes from: detection (the ``auto`` choice) and construction.

* ``embedded``: a control plane and a real node (containerd, kubelet, ...) as local
  processes, no Docker needed; or simulated kwok nodes (``--nodes kwok``).
* ``kind``: a kind cluster, when a Docker engine answers and ``kind`` is installed.
* ``existing``: a cluster you already have, by ``--kubeconfig`` or ``$KUBECONFIG``.

``auto`` picks ``existing`` only for an explicitly given kubeconfig (the option
or ``$CHARTHOUSE_KUBECONFIG``), never for an ambient ``$KUBECONFIG``: that one
often points at a real cluster, and the test suite creates and deletes
namespaces. Then ``kind`` if Docker works, else ``embedded``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from charthouse import paths
from charthouse.cluster.providers.base import Provider
from charthouse.errors import CharthouseError

PROVIDERS = ("auto", "embedded", "kind", "existing")
DEFAULT_NAME = "charthouse"


def state_dir(name: str = DEFAULT_NAME) -> Path:
    """Where a cluster keeps certificates, data, logs and pid files."""
    override = os.environ.get("CHARTHOUSE_CLUSTER_DIR")
    return Path(override).expanduser() if override else paths.CACHE_HOME / "cluster" / name


def docker_usable() -> bool:
    """``docker info`` succeeds: a daemon answers, not merely a CLI installed."""
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        return (
            subprocess.run(
                [docker, "info"], capture_output=True, timeout=15, check=False
            ).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def kind_available() -> bool:
    """``kind`` on PATH or already built from the pin into $CHARTHOUSE_HOME/bin."""
    search = os.pathsep.join([str(paths.BIN_DIR), os.environ.get("PATH", "")])
    return shutil.which("kind", path=search) is not None


def _recorded(directory: Path) -> str | None:
    """The provider a previous ``up`` used for this cluster directory, if any."""
    try:
        provider = json.loads((directory / "state.json").read_text()).get("provider")
    except (OSError, ValueError):
        return None
    return provider if provider in PROVIDERS else None


def choose(requested: str, *, kubeconfig: Path | None, directory: Path) -> str:
    """Resolve ``auto`` to a concrete provider name (see the module docstring)."""
    if requested not in PROVIDERS:
        raise CharthouseError(
            f"--provider: unknown provider {requested!r} (choose from {', '.join(PROVIDERS)})"
        )
    if requested != "auto":
        return requested
    if kubeconfig is not None or os.environ.get("CHARTHOUSE_KUBECONFIG"):
        return "existing"
    recorded = _recorded(directory)
    if recorded is not None:
        return recorded
    if docker_usable() and kind_available():
        return "kind"
    return "embedded"


def get(
    requested: str = "auto",
    *,
    kubeconfig: Path | None = None,
    name: str = DEFAULT_NAME,
    nodes: str = "auto",
) -> Provider:
    """The provider for ``requested`` (resolving ``auto``); ``nodes`` is the embedded
    provider's node kind (auto, real or kwok)."""
    directory = state_dir(name)
    chosen = choose(requested, kubeconfig=kubeconfig, directory=directory)
    if chosen == "embedded":
        from charthouse.cluster.providers.embedded.cluster import EmbeddedCluster

        if nodes == "auto":
            nodes = os.environ.get("CHARTHOUSE_NODES", "auto")
        return EmbeddedCluster(directory, nodes=nodes)
    if chosen == "kind":
        from charthouse.cluster.providers.kind import KindCluster

        return KindCluster(directory, cluster_name=name)
    from charthouse.cluster.providers.existing import ExistingCluster

    given = kubeconfig or os.environ.get("CHARTHOUSE_KUBECONFIG") or os.environ.get("KUBECONFIG")
    if not given:
        raise CharthouseError("--provider existing: give --kubeconfig PATH or set KUBECONFIG")
    return ExistingCluster(Path(given).expanduser())
