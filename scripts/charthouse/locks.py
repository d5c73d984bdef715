"""Cross-process mutual exclusion by ``flock`` on a lock file.

Used wherever two charthouse processes (parallel test workers, two shells, two
``make`` runs) could otherwise race: tool builds, chart dependency builds, index
writes, cluster up/down. The lock is released when the process dies, so a killed
run never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created with its parents) for the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
