"""A disk cache of ``helm template`` results, so a warm run renders nothing twice.

The differential test and ``charthouse judge`` render hundreds of chart x values
combinations with the helm binaries (~40 ms each). Their inputs rarely change
between runs, so each result (manifests, or helm's error; plus helm's warnings) is
stored under ``$CHARTHOUSE_HOME/renders/`` keyed by everything that determines it:

* the chart's content (every file, built dependency archives included),
* the values (file *contents*, inline values, ``--set`` expressions), release,
  namespace, Kubernetes version and API versions,
* the helm binary (resolved path, size and modification time).

A changed input is a new key, never a stale hit. Entries are written atomically;
the oldest are pruned when the cache holds more than :data:`MAX_ENTRIES`.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from charthouse import paths
from charthouse.atomicfile import write
from charthouse.chartdeps import ensure_dependencies
from charthouse.digest import tree_digest
from charthouse.render import HelmBinaryRenderer, RenderError, RenderRequest

MAX_ENTRIES = 20_000
CACHE_FORMAT = 2


@dataclass(frozen=True)
class Outcome:
    """One render: the manifests, or helm's error; and what helm warned about."""

    text: str | None
    error: str | None
    warnings: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.error is None


def cache_dir() -> Path:
    return paths.CACHE_HOME / "renders"


def _stamp(root: Path) -> tuple[tuple[str, int, int], ...]:
    """Every file's name, size and modification time: cheap to take, and it changes
    whenever a file is edited."""
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            stat = path.stat()
            found.append((str(path.relative_to(root)), stat.st_size, stat.st_mtime_ns))
    return tuple(found)


@cache
def _digest(root: Path, stamp: tuple[tuple[str, int, int], ...]) -> str:
    """Content digest of the tree ``root`` as it was at ``stamp`` (taken once per
    stamp: the stamp changes whenever a file does)."""
    return tree_digest(root)


def _binary_identity(binary: Path) -> list[Any]:
    resolved = binary.resolve()
    stat = resolved.stat()
    return [str(resolved), stat.st_size, stat.st_mtime_ns]


def request_key(
    renderer: HelmBinaryRenderer,
    request: RenderRequest,
    stamp: tuple[tuple[str, int, int], ...] | None = None,
) -> str:
    """The cache key of ``request`` rendered by ``renderer`` (chart files at ``stamp``)."""
    ensure_dependencies(request.chart, renderer.helm)
    material = {
        "format": CACHE_FORMAT,
        "helm": _binary_identity(renderer.helm),
        "chart": _digest(request.chart, stamp or _stamp(request.chart)),
        "values_files": [
            hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in request.values_files
        ],
        "values": request.values,
        "set": list(request.set_values),
        "release": request.release,
        "namespace": request.namespace,
        "kube_version": request.kube_version,
        "api_versions": list(request.api_versions),
    }
    blob = json.dumps(material, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def _entry_path(key: str) -> Path:
    return cache_dir() / key[:2] / f"{key}.json"


def _load(key: str) -> Outcome | None:
    try:
        data = json.loads(_entry_path(key).read_text())
    except (OSError, ValueError):
        return None
    return Outcome(data.get("text"), data.get("error"), tuple(data.get("warnings", ())))


def _store(key: str, outcome: Outcome) -> None:
    path = _entry_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"text": outcome.text, "error": outcome.error, "warnings": list(outcome.warnings)}
    write(path, json.dumps(payload), fsync=False)


def prune(limit: int = MAX_ENTRIES) -> int:
    """Delete the oldest entries beyond ``limit``; returns how many were deleted."""
    root = cache_dir()
    if not root.is_dir():
        return 0
    listed = ((_mtime(path), path) for path in root.glob("*/*.json"))
    dated = [(mtime, path) for mtime, path in listed if mtime is not None]
    if len(dated) <= limit:
        return 0
    dated.sort()
    doomed = [path for _, path in dated[: len(dated) - limit]]
    for path in doomed:
        path.unlink(missing_ok=True)
    return len(doomed)


def _mtime(path: Path) -> float | None:
    """``path``'s modification time, or None once it is gone: parallel test workers
    share the cache, and another one's prune may delete an entry between the listing
    and this look."""
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return None


def render(
    renderer: HelmBinaryRenderer, request: RenderRequest, *, use_cache: bool = True
) -> Outcome:
    """``renderer``'s outcome for ``request``, from the cache when present
    (``CHARTHOUSE_RENDER_CACHE=off`` or ``use_cache=False`` bypasses it)."""
    if not use_cache or os.environ.get("CHARTHOUSE_RENDER_CACHE") == "off":
        return _render(renderer, request)
    ensure_dependencies(request.chart, renderer.helm)
    stamp = _stamp(request.chart)
    key = request_key(renderer, request, stamp)
    hit = _load(key)
    if hit is not None:
        return hit
    outcome = _render(renderer, request)
    if _stamp(request.chart) == stamp:  # not edited while helm read it
        _store(key, outcome)
    if int(key[:4], 16) % 256 == 0:  # now and then, not on every write
        prune()
    return outcome


def _render(renderer: HelmBinaryRenderer, request: RenderRequest) -> Outcome:
    try:
        text, log = renderer.render_with_log(request)
    except RenderError as exc:
        return Outcome(None, str(exc), ())
    return Outcome(text, None, warnings(log))


def warnings(log: str) -> tuple[str, ...]:
    """The warning lines of helm's stderr (coalesce warnings and the like)."""
    return tuple(line.strip() for line in log.splitlines() if "warning" in line.lower())
