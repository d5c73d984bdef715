"""The `make release` contract on a fresh clone of this repository: dist/repo/index.yaml
lists app, database, cache, ingress and stack, and a second run changes no byte."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from support import fresh_clone

CONTRACT = {"app", "database", "cache", "ingress", "stack"}


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def test_release_on_a_fresh_clone_lists_the_charts_and_is_idempotent(tmp_path: Path) -> None:
    clone = fresh_clone.clone(tmp_path / "clone")
    committed = {p.parent.name for p in (clone / "charts").glob("*/Chart.yaml")}
    assert committed >= CONTRACT, f"charts missing from the repo: {CONTRACT - committed}"

    def release() -> subprocess.CompletedProcess[str]:
        # `make release` is `charthouse release` with no arguments
        return fresh_clone.charthouse(clone, "release")

    first = release()
    assert first.returncode == 0, first.stderr
    repo = clone / "dist" / "repo"
    index = yaml.safe_load((repo / "index.yaml").read_text())
    assert set(index["entries"]) >= CONTRACT
    for name in CONTRACT:
        entry = index["entries"][name][0]
        assert (repo / f"{name}-{entry['version']}.tgz").is_file()
        assert entry["urls"] == [f"{name}-{entry['version']}.tgz"]
    before = snapshot(repo)
    second = release()
    assert second.returncode == 0, second.stderr
    assert "nothing to release" in second.stdout
    assert snapshot(repo) == before
