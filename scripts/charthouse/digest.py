"""Content digests of directories and files: what a build's inputs are, whatever
their mtimes. :func:`tree_digest` serves the tool cache (a tools module's
directory) and the image cache keys (an image's directory, a stand-in's module);
:func:`file_sha256` checks pinned downloads against their pins."""

from __future__ import annotations

import hashlib
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


def file_sha256(path: Path) -> str:
    """sha256 of one file's content (a pinned download, a wheel), read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
