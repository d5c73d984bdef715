"""What a render can be asked for: the engines, the helm majors and the Kubernetes
versions charthouse supports.

Kept apart from :mod:`charthouse.render` so that the command line can offer (and
check) these choices without importing the renderers and their dependencies.
"""

from __future__ import annotations

from typing import Literal

from charthouse.errors import CharthouseError

Engine = Literal["auto", "binary", "sdk"]
ENGINES: tuple[Engine, ...] = ("auto", "binary", "sdk")
HELM_MAJORS: tuple[int, ...] = (3, 4)
DEFAULT_HELM_MAJOR = 4

#: Every chart is validated against these (the strict schemas bundled for each).
SUPPORTED_KUBE_VERSIONS: tuple[str, ...] = tuple(f"1.{minor}.0" for minor in range(31, 38))
DEFAULT_KUBE_VERSION = SUPPORTED_KUBE_VERSIONS[-1]


def normalise_kube_version(version: str) -> str:
    """``1.31``, ``v1.31`` and ``1.31.0`` all mean ``1.31.0``."""
    parts = version.removeprefix("v").split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts[:3]):
        raise CharthouseError(f"--kube-version: expected MAJOR.MINOR[.PATCH], got {version!r}")
    while len(parts) < 3:
        parts.append("0")
    return ".".join(parts[:3])
