"""Where releases go. Every target answers two questions before anything is written
(what is published already? would this release conflict?) and then publishes.

* :mod:`.dir` - a local directory (``dist/repo`` by default): index.yaml + archives.
* :mod:`.ghpages` - a branch of a git remote, committed from a private worktree.
* :mod:`.oci` - an OCI registry through ``helm push``.

What a target can do is said by its attributes, never guessed from its label:
``lists_versions`` is true when :meth:`Target.published_versions` is complete (the
target keeps an index.yaml); an OCI registry answers only per version, in preflight.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

#: The ``--target`` choices, one module each.
KINDS = ("dir", "gh-pages", "oci")


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
    kind: str
    """One of :data:`KINDS`."""
    label: str
    """``kind:where``, for messages."""
    lists_versions: bool
    """Whether :meth:`published_versions` lists every published version."""

    def published_versions(self, chart: str) -> list[str]:
        """Versions of ``chart`` this target already serves (for the version rule)."""
        ...

    def preflight(self, artifacts: Sequence[Artifact]) -> list[Artifact]:
        """The artifacts still to publish; raise if one conflicts with what is published."""
        ...

    def publish(self, artifacts: Sequence[Artifact], site_files: Mapping[str, bytes]) -> None:
        """Write ``artifacts``; the index (if any) last, atomically."""
        ...

    def refresh_site_files(self, site_files: Mapping[str, bytes]) -> None:
        """Bring site files (artifacthub-repo.yml) up to date when no chart is released."""
        ...

    def close(self) -> None:
        """Release temporary state (worktrees, logins)."""
        ...
