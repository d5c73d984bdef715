"""Which charts need a release: changed since their last release tag, plus dependents.

A release tag is ``<chart>-<version>`` (chart-releaser's convention). A chart with
no tag yet has never been released, so it counts as changed. With an explicit base
ref, every chart is compared against that ref instead. Charts that embed a changed
chart through a ``file://`` dependency follow it (the stack follows app).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from charthouse.chartset import ChartSet
from charthouse.errors import CharthouseError
from charthouse.release import git
from charthouse.versioning import latest, parse_version


def release_tag(chart: str, version: str) -> str:
    return f"{chart}-{version}"


def released_versions(repo: Path, chart: str) -> list[str]:
    """Versions of ``chart`` tagged on the current branch's history."""
    out = git.output(repo, "tag", "--list", f"{chart}-*", "--merged", "HEAD", check=False)
    versions = []
    for tag in out.split():
        candidate = tag.removeprefix(f"{chart}-")
        try:  # "app-extra-1.0.0" is not a tag of "app": its remainder is no version
            parse_version(candidate)
        except ValueError:
            continue
        versions.append(candidate)
    return versions


def _differs(repo: Path, ref: str, path: Path) -> bool:
    """True when ``path`` differs between ``ref`` and the working tree (untracked too)."""
    rel = str(path.relative_to(repo))
    diff = git.run(repo, "diff", "--quiet", ref, "--", rel, check=False)
    if diff.returncode not in (0, 1):
        raise CharthouseError(f"git diff against {ref!r} failed: {diff.stderr.strip()}")
    if diff.returncode == 1:
        return True
    untracked = git.output(repo, "ls-files", "--others", "--exclude-standard", "--", rel)
    return bool(untracked.strip())


@dataclass(frozen=True)
class Change:
    """Why a chart is released. ``modified`` is False only when its content is exactly
    that of an existing release tag (it is merely missing from a target)."""

    chart: str
    reason: str
    modified: bool = True


def detect(
    repo: Path,
    charts: ChartSet,
    *,
    base: str | None = None,
    only: Sequence[str] = (),
) -> dict[str, Change]:
    """Charts to release with the reason for each, in name order."""
    if only:
        unknown = sorted(set(only) - set(charts))
        if unknown:
            raise CharthouseError(
                f"unknown chart(s): {', '.join(unknown)} (known: {', '.join(sorted(charts))})"
            )
    selected = set(only) if only else set(charts)
    direct: dict[str, str] = {}
    if not git.is_repo(repo):
        direct = {name: "not a git checkout: released as is" for name in charts}
    else:
        if base is not None and git.commit_of(repo, base) is None:
            raise CharthouseError(f"--base: {base!r} is not a commit in {repo}")
        for name, meta in charts.items():
            if base is not None:
                if _differs(repo, base, meta.path):
                    direct[name] = f"changed since {base}"
                continue
            top = latest(released_versions(repo, name))
            if top is None:
                direct[name] = "never released (no tag)"
            elif _differs(repo, release_tag(name, top), meta.path):
                direct[name] = f"changed since {release_tag(name, top)}"
    result: dict[str, Change] = {}
    followers = charts.dependents(direct)
    for name in sorted(followers):
        if name not in selected:
            continue
        reason = direct.get(name)
        if reason is None:
            deps = sorted(set(charts.dependencies(name)) & set(direct)) or sorted(direct)
            reason = f"depends on changed {', '.join(deps)}"
        result[name] = Change(name, reason)
    return result


@dataclass(frozen=True)
class Provenance:
    """The newest commit that touched a chart (or a local chart it embeds)."""

    sha: str
    count: int
    timestamp: int


def last_commit(repo: Path, paths: Sequence[Path]) -> Provenance | None:
    if not git.is_repo(repo):
        return None
    rels = [str(p.relative_to(repo)) for p in paths]
    out = git.output(repo, "log", "-1", "--format=%H %ct", "--", *rels, check=False).strip()
    if not out:
        return None
    full, stamp = out.split()
    count = int(git.output(repo, "rev-list", "--count", full).strip())
    return Provenance(sha=full[:7], count=count, timestamp=int(stamp))


def commit_subjects(repo: Path, since: str | None, path: Path, limit: int = 20) -> list[str]:
    """Commit subjects touching ``path`` since ``since`` (a ref), newest first."""
    if not git.is_repo(repo):
        return []
    span = [f"{since}..HEAD"] if since else []
    out = git.output(
        repo,
        "log",
        f"--max-count={limit}",
        "--format=%s",
        *span,
        "--",
        str(path.relative_to(repo)),
        check=False,
    )
    return [line.strip() for line in out.splitlines() if line.strip()]
