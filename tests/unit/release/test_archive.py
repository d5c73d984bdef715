"""Reading packaged charts: the Chart.yaml inside, and the index entry for the archive."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from charthouse.errors import CharthouseError
from charthouse.release import archive

CHART_YAML = b"apiVersion: v2\nname: app\nversion: 1.0.0\nappVersion: '2.0'\n"


def tgz(*members: tuple[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_entry_records_the_archive_digest_and_base_url(tmp_path: Path) -> None:
    data = tgz(("app/Chart.yaml", CHART_YAML))
    path = tmp_path / "app-1.0.0.tgz"
    path.write_bytes(data)
    made = archive.entry_for_archive(
        path, base_url="https://charts.example/", created="2025-01-01T00:00:00Z"
    )
    assert made["digest"] == hashlib.sha256(data).hexdigest()
    assert made["urls"] == ["https://charts.example/app-1.0.0.tgz"]
    assert made["appVersion"] == "2.0"
    assert archive.entry_for_archive(path, base_url=None, created="x")["urls"] == [path.name]


def test_chart_yaml_is_found_when_it_is_not_the_first_member() -> None:
    first = tgz(("app/Chart.yaml", CHART_YAML), ("app/values.yaml", b"a: 1\n"))
    later = tgz(
        ("app/values.yaml", b"a: 1\n"),
        ("app/charts/x/Chart.yaml", b"name: x\n"),  # a subchart's, not the chart's
        ("app/Chart.yaml", CHART_YAML),
    )
    assert archive.chart_yaml(first, "first") == archive.chart_yaml(later, "later")
    assert archive.chart_yaml(later, "later")["name"] == "app"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not gzip at all", "bad.tgz: not a readable chart archive"),
        (tgz(("app/values.yaml", b"a: 1\n")), "bad.tgz: no Chart.yaml at the top"),
        (tgz(("app/Chart.yaml", b"name: [\n")), r"bad.tgz: Chart.yaml: invalid YAML \(line"),
    ],
    ids=["not-an-archive", "no-chart-yaml", "broken-chart-yaml"],
)
def test_a_broken_archive_is_refused_naming_it(data: bytes, message: str) -> None:
    with pytest.raises(CharthouseError, match=message):
        archive.chart_yaml(data, "bad.tgz")
