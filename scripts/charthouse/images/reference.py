"""Image references split the way a registry mirror needs them.

containerd asks a mirror for ``/v2/<path>/manifests/<tag>`` with the upstream
registry's host removed, so an image pushed to our registry under its upstream
path (``library/postgres``, ``pause``) is found for every reference a chart uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from charthouse.errors import CharthouseError

# Docker Hub's short names ("postgres") live under "library/".
DOCKER_HUB = "docker.io"
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_PATH = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")


@dataclass(frozen=True, order=True)
class Reference:
    """``<domain>/<path>:<tag>``, always with an explicit domain and tag."""

    domain: str
    path: str
    tag: str

    def __str__(self) -> str:
        return f"{self.domain}/{self.path}:{self.tag}"

    def on(self, registry: str) -> str:
        """This image's reference on ``registry`` (host:port), under its upstream path."""
        return f"{registry}/{self.path}:{self.tag}"

    def with_tag(self, tag: str) -> Reference:
        """The same repository under another tag (an image published under two)."""
        if not _TAG.match(tag):
            raise CharthouseError(f"image reference {self}: invalid tag {tag!r}")
        return Reference(self.domain, self.path, tag)


def parse(text: str) -> Reference:
    """Parse a fully qualified reference; a short name or a missing tag is an error,
    since the catalog must say exactly which upstream image it replaces."""
    name, sep, tag = text.rpartition(":")
    if not sep or "/" in tag:
        raise CharthouseError(f"image reference {text!r}: needs an explicit tag (name:tag)")
    domain, slash, path = name.partition("/")
    if not slash or not ("." in domain or ":" in domain or domain == "localhost"):
        raise CharthouseError(
            f"image reference {text!r}: needs a registry domain (e.g. docker.io/library/x:1)"
        )
    if not _PATH.match(path):
        raise CharthouseError(f"image reference {text!r}: invalid repository path {path!r}")
    if not _TAG.match(tag):
        raise CharthouseError(f"image reference {text!r}: invalid tag {tag!r}")
    if domain == DOCKER_HUB and "/" not in path:
        raise CharthouseError(
            f"image reference {text!r}: Docker Hub images are written docker.io/library/{path}"
        )
    return Reference(domain, path, tag)
