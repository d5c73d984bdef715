"""Replacing a file in one step: readers (and a crash) see the old file or the new one.

Every file charthouse writes for others to read (a repository index, a served
archive, a README, a compiled schema another worker loads) goes through
:func:`write`: the data goes to a temporary file in the same directory, which is
then renamed over the target. Rename within a directory is atomic on POSIX.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

DEFAULT_MODE = 0o644


def write(path: Path, data: bytes | str, *, mode: int | None = None, fsync: bool = True) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8), creating its parents.

    ``mode`` defaults to the mode of the file being replaced, else 0644. With
    ``fsync`` (the default) the data and the rename reach the disk before this
    returns, so a power cut cannot leave an empty index behind; caches that can
    be rebuilt pass ``fsync=False``.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            mode = DEFAULT_MODE
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
            stream.flush()
            if fsync:
                os.fsync(stream.fileno())
        temp.chmod(mode)
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    if fsync:
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def copy(source: Path, dest: Path) -> None:
    """Copy ``source`` to ``dest`` atomically (see :func:`write`)."""
    write(dest, source.read_bytes())
