"""File helpers of the image builder: content digests of directories for the
cache key, and linking large tars. Atomic writes are :func:`charthouse.atomicfile.write`."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path


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


def link_or_copy(source: Path, target: Path) -> None:
    """A hard link when both are on one filesystem (large tars), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
