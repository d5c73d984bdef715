"""The kind provider: a kind cluster from ``ci/kind-config.yaml``, for machines with Docker.

Untested on machines without a Docker engine (kind cannot run there); the
GitHub workflow exercises it. Deliberately thin: kind does the work.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from charthouse import paths
from charthouse.cluster.providers.base import Status
from charthouse.errors import CharthouseError
from charthouse.proc import run

CONFIG = paths.REPO_ROOT / "ci" / "kind-config.yaml"


def _kind() -> Path:
    """kind from the pin in ci/tools.yaml (a matching one on PATH is used as is)."""
    from charthouse.tools import ensure_tool

    return ensure_tool("kind")


class KindCluster:
    name = "kind"

    def __init__(self, directory: Path, *, cluster_name: str) -> None:
        self.dir = directory
        self.cluster_name = cluster_name

    def kubeconfig(self) -> Path:
        return self.dir / "kubeconfig"

    def _exists(self, kind: Path) -> bool:
        clusters = run([kind, "get", "clusters"], timeout=60).stdout.split()
        return self.cluster_name in clusters

    def up(self) -> Path:
        if shutil.which("docker") is None:
            raise CharthouseError("--provider kind: docker not found; use --provider embedded")
        kind = _kind()
        self.dir.mkdir(parents=True, exist_ok=True)
        if not self._exists(kind):
            run(
                [
                    kind,
                    "create",
                    "cluster",
                    "--name",
                    self.cluster_name,
                    "--config",
                    CONFIG,
                    "--kubeconfig",
                    self.kubeconfig(),
                    "--wait",
                    "180s",
                ],
                timeout=600,
            )
        else:
            config = run([kind, "get", "kubeconfig", "--name", self.cluster_name]).stdout
            self.kubeconfig().write_text(config)
        (self.dir / "state.json").write_text(json.dumps({"provider": "kind", "running": True}))
        return self.kubeconfig()

    def down(self) -> None:
        kind = _kind()
        if self._exists(kind):
            run([kind, "delete", "cluster", "--name", self.cluster_name], timeout=300)
        (self.dir / "state.json").unlink(missing_ok=True)

    def status(self) -> Status:
        running = self._exists(_kind())
        return Status(
            "kind",
            running,
            self.kubeconfig() if running else None,
            {f"kind cluster {self.cluster_name}": "running" if running else "absent"},
        )
