"""Schema-free copies of charts for the in-process (SDK) renderer.

Helm validates values against ``values.schema.json`` on every render; through the
SDK that costs about two thirds of a render (the Go validator compiles the schema
each time). The SDK renderer validates the same values against the same schemas
itself, with validators compiled once (:mod:`charthouse.values`), and renders a
copy of the chart without the schema files: dependency archives unpacked into
``charts/<name>/`` (which helm loads like the archives) and every
``values.schema.json`` left out. Copies live under the cache, keyed by the chart's
content stamp, and are written atomically.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
from functools import cache
from pathlib import Path

from charthouse import paths

SCHEMA_FILE = "values.schema.json"


def _stamp(chart_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(chart_dir.rglob("*")):
        if path.is_file():
            stat = path.stat()
            rel = path.relative_to(chart_dir)
            digest.update(f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]


def _unpack_dependencies(charts_dir: Path) -> None:
    """Replace each ``charts/*.tgz`` by its directory, recursively, minus schemas."""
    for archive in sorted(charts_dir.glob("*.tgz")):
        with tarfile.open(fileobj=io.BytesIO(archive.read_bytes()), mode="r:gz") as tar:
            tar.extractall(charts_dir, filter="data")
        archive.unlink()
    for sub in charts_dir.iterdir():
        if sub.is_dir():
            (sub / SCHEMA_FILE).unlink(missing_ok=True)
            if (sub / "charts").is_dir():
                _unpack_dependencies(sub / "charts")


@cache
def schema_free_copy(chart_dir: Path) -> Path:
    """A copy of ``chart_dir`` (deps built) with no values schema anywhere.

    Cached per process: the caller has already ensured dependencies, and charts do
    not change during one charthouse run.
    """
    target = paths.CACHE_HOME / "sdk-charts" / f"{chart_dir.name}-{_stamp(chart_dir)}"
    chart_copy = target / chart_dir.name
    if chart_copy.is_dir():
        return chart_copy
    staging = target.with_name(f".{target.name}.{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(chart_dir, staging / chart_dir.name, ignore=shutil.ignore_patterns(SCHEMA_FILE))
    if (staging / chart_dir.name / "charts").is_dir():
        _unpack_dependencies(staging / chart_dir.name / "charts")
    try:
        staging.rename(target)
    except OSError:  # another process won the race: its copy is identical
        shutil.rmtree(staging, ignore_errors=True)
    return chart_copy
