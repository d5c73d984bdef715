"""Release metadata: git tags, the ``artifacthub.io/changes`` annotation, artifacthub-repo.yml."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from charthouse.charts import ChartInfo
from charthouse.release import git
from charthouse.release.changes import commit_subjects, release_tag
from charthouse.yamlfile import read_mapping

CHANGES_ANNOTATION = "artifacthub.io/changes"
ARTIFACTHUB_REPO_FILE = "artifacthub-repo.yml"

#: Conventional-commit prefixes mapped to Artifact Hub change kinds.
_KINDS = {
    "feat": "added",
    "add": "added",
    "fix": "fixed",
    "security": "security",
    "deprecate": "deprecated",
    "remove": "removed",
    "revert": "changed",
}
_PREFIX = re.compile(r"^(?P<type>[a-z]+)(\([^)]*\))?!?:\s*(?P<text>.+)$")


def changelog_entries(chart_dir: Path, version: str) -> list[str]:
    """Bullets under ``## <version>`` (or ``## [<version>]``) of the chart's CHANGELOG.md."""
    changelog = chart_dir / "CHANGELOG.md"
    if not changelog.is_file():
        return []
    heading = re.compile(rf"^##\s+\[?v?{re.escape(version)}\]?(\s|$)")
    bullets: list[str] = []
    inside = False
    for line in changelog.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            if inside:
                break
            inside = bool(heading.match(line))
            continue
        if inside and line.lstrip().startswith(("- ", "* ")):
            bullets.append(line.lstrip()[2:].strip())
    return bullets


def to_changes(lines: Sequence[str]) -> list[dict[str, str]]:
    """Artifact Hub's structured form: ``{kind, description}`` per line."""
    changes = []
    for line in lines:
        match = _PREFIX.match(line)
        kind = _KINDS.get(match.group("type"), "changed") if match else "changed"
        text = match.group("text") if match else line
        changes.append({"kind": kind, "description": text})
    return changes


def changes_for(repo: Path, chart: ChartInfo, version: str, since: str | None) -> str:
    """The annotation value: from CHANGELOG.md, else commit subjects since the last tag."""
    lines = changelog_entries(chart.path, version) or commit_subjects(repo, since, chart.path)
    if not lines:
        lines = [f"Release {chart.name} {version}"]
    return yaml.safe_dump(to_changes(lines), sort_keys=True, default_flow_style=False)


def apply_changes(chart_file: Path, changes: str) -> None:
    """Set the annotation in a (workspace copy of a) Chart.yaml unless the author wrote one."""
    data = read_mapping(chart_file)
    annotations: dict[str, Any] = dict(data.get("annotations") or {})
    if annotations.get(CHANGES_ANNOTATION):
        return
    annotations[CHANGES_ANNOTATION] = changes
    data["annotations"] = annotations
    chart_file.write_text(yaml.safe_dump(data, sort_keys=False, default_flow_style=False))


def artifacthub_repo(charts: Mapping[str, ChartInfo], repo_root: Path) -> bytes:
    """artifacthub-repo.yml for the site: the repo's own file, else owners from maintainers."""
    own = repo_root / ARTIFACTHUB_REPO_FILE
    if own.is_file():
        return own.read_bytes()
    owners: dict[str, dict[str, str]] = {}
    for name in sorted(charts):
        for person in charts[name].metadata.get("maintainers") or []:
            if isinstance(person, dict) and person.get("email"):
                owners.setdefault(
                    str(person["email"]),
                    {"name": str(person.get("name", "")), "email": str(person["email"])},
                )
    document = {"owners": [owners[email] for email in sorted(owners)]}
    header = "# Artifact Hub repository metadata, written by `charthouse release`.\n"
    return (header + yaml.safe_dump(document, sort_keys=True)).encode("utf-8")


def tag_release(repo: Path, chart: ChartInfo, version: str) -> str:
    """Tag HEAD ``<chart>-<version>``; returns what happened, for the progress line."""
    if not git.is_repo(repo):
        return "not tagged (not a git checkout)"
    tag = release_tag(chart.name, version)
    rel = str(chart.path.relative_to(repo))
    dirty = git.output(repo, "status", "--porcelain", "--", rel).strip()
    if dirty:
        return f"not tagged: {rel} has uncommitted changes"
    existing = git.commit_of(repo, f"refs/tags/{tag}")
    head = git.output(repo, "rev-parse", "HEAD").strip()
    if existing is not None:
        return f"tag {tag} already exists" + ("" if existing == head else f" (at {existing[:7]})")
    git.run(repo, "tag", tag, head)
    return f"tagged {tag}"
