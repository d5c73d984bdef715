"""An OCI registry (GHCR, Harbor, distribution): ``helm push`` per chart.

An OCI registry has no index.yaml, so "already published?" is answered per version by
pulling it: absent means push, the same digest means skip (a re-run is a no-op), a
different digest means refuse, since a published version is immutable.
A ``.prov`` beside the archive is pushed with it by ``helm push``.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from charthouse.errors import CharthouseError
from charthouse.proc import run
from charthouse.release import faults
from charthouse.release.targets import Artifact

_NOT_FOUND = ("not found", "manifest unknown", "name unknown", "404")


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


class OciTarget:
    kind = "oci"
    lists_versions = False  # no listing without the registry API: preflight asks per version

    def __init__(self, url: str, *, helm: Path, env: Mapping[str, str] | None = None) -> None:
        if not url.startswith("oci://") or not urlsplit(url).hostname:
            raise CharthouseError(f"--oci-url: expected oci://HOST[:PORT]/PATH, got {url!r}")
        self.url = url.rstrip("/")
        self.helm = helm
        self.env = dict(env or {})
        self.label = f"{self.kind}:{self.url}"
        # Plain HTTP only for a registry on this machine (tests, a local mirror).
        self.plain_http = ["--plain-http"] if is_loopback(url) else []

    def published_versions(self, chart: str) -> list[str]:
        return []

    def _pulled_digest(self, artifact: Artifact) -> str | None:
        with tempfile.TemporaryDirectory(prefix="charthouse-oci-") as tmp:
            result = run(
                [
                    self.helm,
                    "pull",
                    f"{self.url}/{artifact.name}",
                    "--version",
                    artifact.version,
                    "--destination",
                    tmp,
                    *self.plain_http,
                ],
                env=self.env,
                check=False,
                timeout=300,
            )
            if result.returncode != 0:
                if any(marker in result.stderr.lower() for marker in _NOT_FOUND):
                    return None
                raise CharthouseError(
                    f"{self.label}: cannot check {artifact.name} "
                    f"{artifact.version}: {result.stderr.strip()}"
                )
            pulled = list(Path(tmp).glob("*.tgz"))
            if len(pulled) != 1:
                raise CharthouseError(f"{self.label}: pulling {artifact.name} gave {pulled}")
            return hashlib.sha256(pulled[0].read_bytes()).hexdigest()

    def preflight(self, artifacts: Sequence[Artifact]) -> list[Artifact]:
        todo = []
        for artifact in artifacts:
            existing = self._pulled_digest(artifact)
            if existing is None:
                todo.append(artifact)
            elif existing != artifact.digest:
                raise CharthouseError(
                    f"{self.label}/{artifact.name}:{artifact.version} is already published with "
                    f"digest {existing}, but it now packages to {artifact.digest}; published "
                    "versions are immutable: bump the chart version"
                )
        return todo

    def publish(self, artifacts: Sequence[Artifact], site_files: Mapping[str, bytes]) -> None:
        for artifact in artifacts:
            faults.checkpoint(f"oci:{artifact.name}")
            run(
                [self.helm, "push", artifact.archive, self.url, *self.plain_http],
                env=self.env,
                timeout=600,
            )

    def refresh_site_files(self, site_files: Mapping[str, bytes]) -> None:
        """Nothing: a registry serves charts, not site files."""

    def close(self) -> None:
        return None
