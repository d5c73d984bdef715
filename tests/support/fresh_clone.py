"""A fresh clone of this repository running its own charthouse: what a new machine
(or `make release` in CI) sees, with every default (charts/, dist/repo/) resolved
inside the clone and no state shared with the working tree."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from charthouse.paths import REPO_ROOT

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "charthouse-test",
    "GIT_COMMITTER_NAME": "charthouse-test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
}


def clone(dest: Path) -> Path:
    """Clone the committed repository (not the working tree's edits) into ``dest``."""
    subprocess.run(["git", "clone", "--quiet", str(REPO_ROOT), str(dest)], check=True)
    return dest


def env(clone_dir: Path) -> dict[str, str]:
    """Environment that runs the clone's own code, with a git identity for tags."""
    return {**os.environ, "PYTHONPATH": str(clone_dir / "scripts"), **GIT_IDENTITY}


def charthouse(
    clone_dir: Path, *args: str, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run ``charthouse ARGS`` inside the clone, capturing output."""
    return subprocess.run(
        [sys.executable, "-m", "charthouse", *args],
        cwd=clone_dir,
        env=env(clone_dir),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
