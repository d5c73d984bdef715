"""Reproducible packaging: the same chart sources always give the same archive digest."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

from charthouse.chartset import ChartSet
from charthouse.release import package
from support.chartrepo import ChartRepo, helm_env


def build(repo: ChartRepo, helm: Path, work: Path) -> dict[str, package.Package]:
    charts = ChartSet.discover(repo.charts)
    wanted = {name: meta.version for name, meta in charts.items()}
    return package.package_all(helm, charts, wanted, repo.charts, work / "ws", work / "out")


def test_same_sources_give_the_same_digest_despite_new_mtimes(
    chart_repo: ChartRepo, helm4: Path, tmp_path: Path
) -> None:
    first = build(chart_repo, helm4, tmp_path / "one")
    for path in chart_repo.charts.rglob("*"):  # touch everything: helm alone would differ now
        os.utime(path, (1_900_000_000, 1_900_000_000))
    second = build(chart_repo, helm4, tmp_path / "two")
    assert {n: p.digest for n, p in first.items()} == {n: p.digest for n, p in second.items()}
    assert set(first) == {"common", "app", "stack"}


def test_a_content_change_changes_the_digest_of_the_chart_and_its_dependents(
    chart_repo: ChartRepo, helm4: Path, tmp_path: Path
) -> None:
    first = build(chart_repo, helm4, tmp_path / "one")
    (chart_repo.charts / "app" / "values.yaml").write_text("replicas: 2\n")
    second = build(chart_repo, helm4, tmp_path / "two")
    assert first["common"].digest == second["common"].digest
    assert first["app"].digest != second["app"].digest
    assert first["stack"].digest != second["stack"].digest  # stack embeds app


def test_archive_metadata_is_canonical_and_helm_still_renders_it(
    chart_repo: ChartRepo, helm: Path, tmp_path: Path
) -> None:
    stack = build(chart_repo, helm, tmp_path)["stack"]
    raw = stack.path.read_bytes()
    assert raw[4:8] == b"\0\0\0\0"  # gzip header mtime is zero
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert "stack/charts/app/templates/cm.yaml" in names  # the file:// dependency is embedded
    assert "stack/charts/app/charts/common/Chart.yaml" in names  # ...with its own dependency
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members} == {
        (package.DEFAULT_EPOCH, 0, 0, "", "")
    }
    rendered = subprocess.run(
        [str(helm), "template", "r", str(stack.path)],
        check=True,
        capture_output=True,
        text=True,
        env=helm_env(tmp_path / "h"),
    ).stdout
    assert "name: r-app" in rendered and "name: r-stack" in rendered


def test_normalizing_is_idempotent_and_keeps_every_byte_of_content(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        members = (("c/Chart.yaml", b"name: c\n", 5), ("c/values.yaml", b"a: 1\n", 9))
        for name, body, mtime in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.uid, info.uname = len(body), mtime, 1000, "dev"
            tar.addfile(info, io.BytesIO(body))
    once = package.normalize_archive(buf.getvalue())
    assert package.normalize_archive(once) == once
    with tarfile.open(fileobj=io.BytesIO(once), mode="r:gz") as tar:
        contents = {m.name: tar.extractfile(m).read() for m in tar}  # type: ignore[union-attr]
    assert contents == {"c/Chart.yaml": b"name: c\n", "c/values.yaml": b"a: 1\n"}
    assert gzip.decompress(once)  # plain gzip, readable by any tool


def test_packaging_never_writes_into_the_source_checkout(
    chart_repo: ChartRepo, helm4: Path, tmp_path: Path
) -> None:
    for built in chart_repo.charts.glob("*/charts"):
        shutil.rmtree(built)
    build(chart_repo, helm4, tmp_path)
    assert list(chart_repo.charts.glob("*/charts")) == []
