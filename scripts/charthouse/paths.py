"""Well-known locations, resolved once so every module agrees on them."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT: Path = Path(__file__).resolve().parents[2]
CHARTS_DIR: Path = REPO_ROOT / "charts"
CI_DIR: Path = REPO_ROOT / "ci"
DIST_DIR: Path = REPO_ROOT / "dist"
#: Where `charthouse release` publishes and `charthouse serve` serves by default.
REPO_DIR: Path = DIST_DIR / "repo"
TOOLS_FILE: Path = Path(os.environ.get("CHARTHOUSE_TOOLS_FILE") or CI_DIR / "tools.yaml")


def cache_home() -> Path:
    """Where built tools and cluster state live; survives `git clean` and fresh clones."""
    override = os.environ.get("CHARTHOUSE_HOME")
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "charthouse"


CACHE_HOME: Path = cache_home()
BIN_DIR: Path = CACHE_HOME / "bin"


def shown(text: object) -> str:
    """A path (or a message that starts with one) as a user reads it: relative to the
    repository when it lies inside it."""
    return str(text).replace(f"{REPO_ROOT}/", "")
