"""File helpers of the image builder: linking large tars. Directory digests are
:func:`charthouse.digest.tree_digest`, atomic writes :func:`charthouse.atomicfile.write`."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def link_or_copy(source: Path, target: Path) -> None:
    """A hard link when both are on one filesystem (large tars), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
