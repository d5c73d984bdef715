"""Upgrading from the previously released chart to the working tree, then rolling back.

The previous release is the newest version older than the working tree's, found
in the published repository (``dist/repo/index.yaml`` and its packages) or, if
that is absent, at its release tag ``<chart>-<version>`` in git. A chart never
released has nothing to upgrade from: the test is *skipped* saying so, never
passed.
"""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import pytest
import semver
import yaml

from charthouse import paths
from charthouse.charts import all_charts, load_chart

from .harness import Deployer, chart_param
from .helm import Helm

pytestmark = pytest.mark.integration


def _older(version: str, than: str) -> bool:
    return semver.Version.parse(version) < semver.Version.parse(than)


def _from_repo(chart: str, current: str) -> Path | None:
    index_file = paths.REPO_DIR / "index.yaml"
    if not index_file.is_file():
        return None
    entries = (yaml.safe_load(index_file.read_text()) or {}).get("entries", {}).get(chart, [])
    older = [e for e in entries if _older(str(e["version"]), current)]
    if not older:
        return None
    newest = max(older, key=lambda e: semver.Version.parse(str(e["version"])))
    package = paths.REPO_DIR / f"{chart}-{newest['version']}.tgz"
    return package if package.is_file() else None


def _from_tag(chart: str, current: str, workdir: Path) -> Path | None:
    tags = subprocess.run(
        ["git", "-C", str(paths.REPO_ROOT), "tag", "--list", f"{chart}-*"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    versions = []
    for tag in tags:
        candidate = tag.removeprefix(f"{chart}-")
        if semver.Version.is_valid(candidate) and _older(candidate, current):
            versions.append(candidate)
    if not versions:
        return None
    newest = max(versions, key=semver.Version.parse)
    archive = workdir / "tree.tar"
    subprocess.run(
        [
            "git",
            "-C",
            str(paths.REPO_ROOT),
            "archive",
            "--output",
            str(archive),
            f"{chart}-{newest}",
            "charts",
        ],
        check=True,
    )
    with tarfile.open(archive) as tar:
        tar.extractall(workdir, filter="data")
    return workdir / "charts" / chart


@pytest.mark.parametrize("chart", [chart_param(c.name, id=c.name) for c in all_charts()])
def test_upgrade_from_previous_release_then_rollback(
    chart: str, helm: Helm, deploy: Deployer, tmp_path: Path
) -> None:
    current = load_chart(chart).version
    previous = _from_repo(chart, current) or _from_tag(chart, current, tmp_path)
    if previous is None:
        pytest.skip(
            f"{chart} {current}: no earlier release to upgrade from (none in dist/repo, "
            f"no git tag {chart}-<older version>)"
        )
    release = deploy(chart, helm, chart_ref=previous)

    deploy.upgrade(release)  # the working tree
    assert helm.test(release.name, release.namespace).ok

    helm.rollback(release.name, release.namespace, 1).check()
    deploy.wait(release)
