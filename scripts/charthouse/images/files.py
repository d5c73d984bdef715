"""File helpers of the image builder: content digests of directories for the
cache key, and writes that are atomic (a killed run leaves the old file or the
new one, never half of one; the release index's writer, shared)."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from charthouse.release import index as release_index


def tree_digest(directory: Path) -> str:
    """sha256 over every file below ``directory``: relative path, executable bit, content."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file() or p.is_symlink()):
        rel = path.relative_to(directory).as_posix()
        if path.is_symlink():
            digest.update(f"L {rel} {path.readlink()}\n".encode())
            continue
        executable = "x" if path.stat().st_mode & 0o111 else "-"
        digest.update(f"F {rel} {executable} {path.stat().st_size}\n".encode())
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so readers see the old or the new file, never a mix."""
    release_index.write_atomic(path, text.encode("utf-8"))


def link_or_copy(source: Path, target: Path) -> None:
    """A hard link when both are on one filesystem (large tars), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
