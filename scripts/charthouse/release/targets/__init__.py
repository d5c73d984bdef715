"""Where releases go. Every target answers two questions before anything is written
(what is published already? would this release conflict?) and then publishes.

* :mod:`.dir` - a local directory (``dist/repo`` by default): index.yaml + archives.
* :mod:`.ghpages` - a branch of a git remote, committed from a private worktree.
* :mod:`.oci` - an OCI registry through ``helm push``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Artifact:
    """One packaged chart ready to publish."""

    name: str
    version: str
    archive: Path
    digest: str
    provenance: Path | None
    created: str


class Target(Protocol):
    label: str

    def published_versions(self, chart: str) -> list[str]:
        """Versions of ``chart`` this target already serves (for the version rule)."""
        ...

    def preflight(self, artifacts: Sequence[Artifact]) -> list[Artifact]:
        """The artifacts still to publish; raise if one conflicts with what is published."""
        ...

    def publish(self, artifacts: Sequence[Artifact], site_files: Mapping[str, bytes]) -> None:
        """Write ``artifacts``; the index (if any) last, atomically."""
        ...

    def close(self) -> None:
        """Release temporary state (worktrees, logins)."""
        ...
