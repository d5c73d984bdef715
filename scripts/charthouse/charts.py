"""Finding charts and reading Chart.yaml into :class:`ChartInfo`.

Mistakes in a Chart.yaml are refused here, naming the file and the field, before
helm sees them. The graph between charts is :mod:`charthouse.chartset`; building
their ``file://`` dependencies is :mod:`charthouse.chartdeps`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from charthouse import paths
from charthouse.errors import CharthouseError
from charthouse.versioning import parse_version
from charthouse.yamlfile import read_mapping


@dataclass(frozen=True)
class ChartInfo:
    """The parts of Chart.yaml charthouse relies on."""

    path: Path
    name: str
    version: str
    type: str
    kube_version: str
    file_dependencies: tuple[Path, ...]
    metadata: dict[str, Any]

    @property
    def chart_file(self) -> Path:
        return self.path / "Chart.yaml"

    @property
    def is_library(self) -> bool:
        return self.type == "library"

    def scenarios(self) -> list[Path]:
        """The chart's ``ci/*-values.yaml`` files, sorted."""
        return sorted((self.path / "ci").glob("*-values.yaml"))


def load_chart(chart: Path | str) -> ChartInfo:
    """Read ``Chart.yaml``, rejecting early what helm would reject later; every
    mistake names the file and the field."""
    chart_dir = resolve_chart_dir(chart)
    return _load_chart(chart_dir, (chart_dir / "Chart.yaml").stat().st_mtime_ns)


@cache
def _load_chart(chart_dir: Path, mtime_ns: int) -> ChartInfo:
    chart_file = chart_dir / "Chart.yaml"
    data = read_mapping(chart_file, what="Chart.yaml")
    for key in ("name", "version"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise CharthouseError(f"{chart_file}: {key}: required string, got {data.get(key)!r}")
    try:
        parse_version(data["version"])
    except ValueError as exc:
        raise CharthouseError(f"{chart_file}: version: {exc}") from exc
    if data.get("apiVersion") != "v2":
        raise CharthouseError(
            f"{chart_file}: apiVersion: expected 'v2', got {data.get('apiVersion')!r}"
        )
    deps = data.get("dependencies") or []
    if not isinstance(deps, list):
        raise CharthouseError(f"{chart_file}: dependencies: expected a list")
    local: list[Path] = []
    for index, dep in enumerate(deps):
        if not isinstance(dep, dict):
            raise CharthouseError(f"{chart_file}: dependencies[{index}]: expected a mapping")
        repo = dep.get("repository", "")
        if isinstance(repo, str) and repo.startswith("file://"):
            target = (chart_dir / repo.removeprefix("file://")).resolve()
            if not (target / "Chart.yaml").is_file():
                raise CharthouseError(
                    f"{chart_file}: dependencies[{index}].repository: no chart at {repo}"
                )
            local.append(target)
    return ChartInfo(
        path=chart_dir,
        name=data["name"],
        version=data["version"],
        type=str(data.get("type", "application")),
        kube_version=str(data.get("kubeVersion", "")),
        file_dependencies=tuple(local),
        metadata=data,
    )


def resolve_chart_dir(chart: Path | str) -> Path:
    """Accept a path or a bare chart name (``app`` means ``charts/app``)."""
    candidate = Path(chart)
    if not (candidate / "Chart.yaml").is_file() and not candidate.is_absolute():
        by_name = paths.CHARTS_DIR / str(chart)
        if (by_name / "Chart.yaml").is_file():
            candidate = by_name
    if not (candidate / "Chart.yaml").is_file():
        raise CharthouseError(f"{chart}: not a chart (no Chart.yaml found)")
    return candidate.resolve()


def all_charts(include_library: bool = False) -> list[ChartInfo]:
    """Every chart under ``charts/``; application charts only unless asked."""
    found = [load_chart(p.parent) for p in sorted(paths.CHARTS_DIR.glob("*/Chart.yaml"))]
    return [c for c in found if include_library or not c.is_library]
