"""The existing provider: a cluster someone else runs, reached through a kubeconfig.

``up`` only checks that the API server answers; ``down`` never touches the cluster.
"""

from __future__ import annotations

from pathlib import Path

from charthouse import kubeapi
from charthouse.cluster.providers.base import Status
from charthouse.errors import CharthouseError


def server_version(kubeconfig: Path) -> str:
    """``gitVersion`` of the API server, through the official client (any auth method),
    bounded in time: a server that never answers is unreachable, not a hang."""
    from kubernetes import client

    api = kubeapi.connect(kubeconfig)
    try:
        version: str = client.VersionApi(api).get_code().git_version
    except Exception as exc:  # the client raises many unrelated types for "unreachable"
        raise CharthouseError(f"{kubeconfig}: cannot reach the API server: {exc}") from exc
    return version


class ExistingCluster:
    name = "existing"

    def __init__(self, kubeconfig: Path) -> None:
        self._kubeconfig = kubeconfig

    def kubeconfig(self) -> Path:
        return self._kubeconfig

    def up(self) -> Path:
        if not self._kubeconfig.is_file():
            raise CharthouseError(f"{self._kubeconfig}: kubeconfig not found")
        server_version(self._kubeconfig)
        return self._kubeconfig

    def down(self) -> None:
        """Nothing to stop: we did not start this cluster."""

    def status(self) -> Status:
        try:
            version = server_version(self._kubeconfig)
        except CharthouseError as exc:
            return Status("existing", False, self._kubeconfig, problems=[str(exc)])
        return Status("existing", True, self._kubeconfig, {"kube-apiserver": version})
