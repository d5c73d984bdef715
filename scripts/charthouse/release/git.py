"""Every git command the release runs: in a repository (``git -C REPO ...``) or, with
``repo=None``, against a remote (``ls-remote``, ``clone``).

Through :func:`charthouse.proc.run`, so each has a timeout and a failure names the
command and carries git's own message.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from charthouse.proc import run as run_command

#: Long enough to clone or push a gh-pages branch with years of releases.
DEFAULT_TIMEOUT = 300.0


def run(
    repo: Path | None, *args: str, check: bool = True, timeout: float = DEFAULT_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """``git [-C repo] ARGS``; with ``check`` a non-zero exit raises."""
    where = ["-C", str(repo)] if repo is not None else []
    return run_command(["git", *where, *args], check=check, timeout=timeout)


def output(
    repo: Path | None, *args: str, check: bool = True, timeout: float = DEFAULT_TIMEOUT
) -> str:
    """The standard output of ``git [-C repo] ARGS``."""
    return run(repo, *args, check=check, timeout=timeout).stdout


def is_repo(repo: Path) -> bool:
    """Whether ``repo`` is inside a git checkout."""
    return run(repo, "rev-parse", "--git-dir", check=False).returncode == 0


def commit_of(repo: Path, ref: str) -> str | None:
    """The commit ``ref`` (a branch, tag or sha) points at, or None when there is none."""
    result = run(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    return result.stdout.strip() if result.returncode == 0 else None
