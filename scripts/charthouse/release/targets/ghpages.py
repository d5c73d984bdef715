"""A chart repository on a branch (``gh-pages``) of a git remote.

The branch is cloned into a private temporary worktree, updated exactly like the
dir target (archives first, index last) and pushed as one commit. When the push is
rejected because another release pushed first, we fetch the new tip, re-check every
artifact against the index *it* holds and try again: concurrent releases never
overwrite each other's index entries (the chart-releaser gh-pages race).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from charthouse.errors import CharthouseError
from charthouse.release import faults, git
from charthouse.release.targets import Artifact
from charthouse.release.targets.dir import DirTarget

PUSH_ATTEMPTS = 5
_IDENTITY = ("-c", "user.name=charthouse release", "-c", "user.email=charthouse@users.noreply")


def resolve_remote(repo_root: Path, remote: str) -> str:
    """A remote name of ``repo_root`` becomes its URL; anything else is already a URL/path."""
    result = git.run(repo_root, "remote", "get-url", remote, check=False)
    if result.returncode == 0:
        return result.stdout.strip()
    if "/" in remote or ":" in remote:
        return remote
    raise CharthouseError(
        f"--ghpages-remote: {remote!r} is neither a remote of {repo_root} nor a URL"
    )


class GhPagesTarget:
    kind = "gh-pages"
    lists_versions = True

    def __init__(
        self, repo_root: Path, remote: str, branch: str, *, base_url: str | None = None
    ) -> None:
        self.url = resolve_remote(repo_root, remote)
        self.branch = branch
        self.base_url = base_url
        self.label = f"{self.kind}:{self.url}#{branch}"
        self._tmp = Path(tempfile.mkdtemp(prefix="charthouse-gh-pages-"))
        self.worktree = self._tmp / "site"
        self._checkout()
        self.inner = DirTarget(self.worktree, base_url=base_url)

    def _checkout(self) -> None:
        shutil.rmtree(self.worktree, ignore_errors=True)
        heads = git.output(None, "ls-remote", "--heads", self.url, self.branch)
        if heads.strip():
            git.run(
                None,
                "clone",
                "--quiet",
                "--single-branch",
                "--branch",
                self.branch,
                self.url,
                str(self.worktree),
                timeout=600,
            )
        else:  # first release: an orphan branch with only the repository in it
            self.worktree.mkdir(parents=True)
            git.run(self.worktree, "init", "--quiet", "--initial-branch", self.branch)
            git.run(self.worktree, "remote", "add", "origin", self.url)
        exclude = self.worktree / ".git" / "info" / "exclude"
        exclude.parent.mkdir(parents=True, exist_ok=True)
        exclude.write_text(".index.lock\n")

    def published_versions(self, chart: str) -> list[str]:
        return self.inner.published_versions(chart)

    def preflight(self, artifacts: Sequence[Artifact]) -> list[Artifact]:
        return self.inner.preflight(artifacts)

    def publish(self, artifacts: Sequence[Artifact], site_files: Mapping[str, bytes]) -> None:
        for attempt in range(1, PUSH_ATTEMPTS + 1):
            pending = self.inner.preflight(artifacts)
            self.inner.publish(pending, site_files)
            git.run(self.worktree, "add", "--all")
            if not git.output(self.worktree, "status", "--porcelain").strip():
                return
            names = ", ".join(f"{a.name}-{a.version}" for a in pending) or "site files"
            git.run(self.worktree, *_IDENTITY, "commit", "--quiet", "-m", f"Release {names}")
            faults.checkpoint("gh-pages:push")
            pushed = git.run(
                self.worktree,
                "push",
                "--quiet",
                "origin",
                f"HEAD:refs/heads/{self.branch}",
                check=False,
                timeout=600,
            )
            if pushed.returncode == 0:
                return
            if attempt == PUSH_ATTEMPTS:
                raise CharthouseError(
                    f"{self.label}: push rejected {attempt} times: {pushed.stderr.strip()}"
                )
            self._checkout()  # someone else published first: start again from their tip
            self.inner = DirTarget(self.worktree, base_url=self.base_url)

    def refresh_site_files(self, site_files: Mapping[str, bytes]) -> None:
        """Nothing: site files travel with the next release's commit, not a push of their own."""

    def close(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)
