"""``ci/tools.yaml``, read once: the one file that pins every external tool, every CRD
bundle and so the Kubernetes version of the test clusters.

Modules that need a pin ask here (:func:`read` for the parsed file; an accessor such
as :func:`kubernetes_version` for a fact derived from it) instead of parsing the
file themselves or repeating a version in code. :mod:`charthouse.tools` turns the
``tools:`` section into build instructions, :mod:`charthouse.crds` the ``crds:`` one.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from charthouse import paths
from charthouse.errors import CharthouseError
from charthouse.yamlfile import read_mapping

#: Tools built from k8s.io/kubernetes: all must share one version (the cluster's).
KUBERNETES_PACKAGE = "k8s.io/kubernetes/"
KUBERNETES_REFERENCE_TOOL = "kube-apiserver"


def read(path: Path | None = None) -> dict[str, Any]:
    """The parsed pin file (default ``ci/tools.yaml`` or ``$CHARTHOUSE_TOOLS_FILE``).

    Parsed once per process and file version; callers must not mutate the result.
    """
    pin_file = path or paths.TOOLS_FILE
    try:
        mtime_ns = pin_file.stat().st_mtime_ns
    except OSError as exc:
        raise CharthouseError(f"{pin_file}: cannot read pin file: {exc.strerror}") from exc
    return _read(pin_file, mtime_ns)


@cache
def _read(pin_file: Path, mtime_ns: int) -> dict[str, Any]:
    return read_mapping(pin_file, what="pin file")


def section(name: str, path: Path | None = None) -> dict[str, Any]:
    """One top-level mapping of the pin file (``tools``, ``crds``, ...); absent is empty."""
    pin_file = path or paths.TOOLS_FILE
    value = read(pin_file).get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CharthouseError(f"{pin_file}: {name}: expected a mapping, got {value!r}")
    return value


def kubernetes_version(path: Path | None = None) -> str:
    """The Kubernetes version of the test clusters (``v1.37.2``): the version every
    component built from ``k8s.io/kubernetes`` is pinned at, which must be one."""
    pin_file = path or paths.TOOLS_FILE
    tools = section("tools", pin_file)
    versions = {
        name: str(entry.get("version"))
        for name, entry in tools.items()
        if isinstance(entry, dict) and str(entry.get("package", "")).startswith(KUBERNETES_PACKAGE)
    }
    if KUBERNETES_REFERENCE_TOOL not in versions:
        raise CharthouseError(
            f"{pin_file}: tools.{KUBERNETES_REFERENCE_TOOL}: not pinned "
            "(it defines the Kubernetes version)"
        )
    reference = versions[KUBERNETES_REFERENCE_TOOL]
    drifted = sorted(name for name, version in versions.items() if version != reference)
    if drifted:
        raise CharthouseError(
            f"{pin_file}: tools.{drifted[0]}.version: {versions[drifted[0]]} differs from "
            f"tools.{KUBERNETES_REFERENCE_TOOL}.version {reference}: Kubernetes components "
            "must share one version"
        )
    return reference
