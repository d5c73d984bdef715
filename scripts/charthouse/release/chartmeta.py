"""Read a chart's Chart.yaml into the few facts the release pipeline needs.

Errors name the file and the field, so a broken chart stops the release before
anything is built or written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from charthouse.errors import CharthouseError
from charthouse.release.versioning import parse_version

try:  # libyaml is ~10x faster; fall back to the pure-Python loader where it is missing.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


@dataclass(frozen=True)
class ChartMeta:
    """A chart on disk: identity, version and the local charts it depends on."""

    name: str
    version: str
    path: Path
    metadata: Mapping[str, Any] = field(repr=False)
    file_dependencies: tuple[Path, ...] = ()

    @property
    def chart_file(self) -> Path:
        return self.path / "Chart.yaml"

    @property
    def is_library(self) -> bool:
        return self.metadata.get("type") == "library"


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """Load a YAML file that must hold a mapping; errors name the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CharthouseError(f"{path}: file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise CharthouseError(f"{path}: cannot read: {exc}") from exc
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CharthouseError(f"{path}: invalid YAML{where}: {problem}") from exc
    if not isinstance(data, dict):
        raise CharthouseError(f"{path}: expected a mapping at the top level")
    return data


def _required_str(data: Mapping[str, Any], key: str, path: Path) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CharthouseError(f"{path}: {key}: required string, got {value!r}")
    return value


def load_chart(chart_dir: Path) -> ChartMeta:
    """Parse ``chart_dir/Chart.yaml``; reject what helm would reject later, but earlier."""
    chart_file = chart_dir / "Chart.yaml"
    data = read_yaml_mapping(chart_file)
    name = _required_str(data, "name", chart_file)
    if name != chart_dir.name:
        raise CharthouseError(
            f"{chart_file}: name: {name!r} must match the chart directory {chart_dir.name!r}"
        )
    version = _required_str(data, "version", chart_file)
    try:
        parse_version(version)
    except ValueError as exc:
        raise CharthouseError(f"{chart_file}: version: {exc}") from exc
    if data.get("apiVersion") != "v2":
        api = data.get("apiVersion")
        raise CharthouseError(f"{chart_file}: apiVersion: expected 'v2', got {api!r}")
    deps = data.get("dependencies") or []
    if not isinstance(deps, list):
        raise CharthouseError(f"{chart_file}: dependencies: expected a list")
    local: list[Path] = []
    for i, dep in enumerate(deps):
        if not isinstance(dep, dict):
            raise CharthouseError(f"{chart_file}: dependencies[{i}]: expected a mapping")
        repo = dep.get("repository", "")
        if isinstance(repo, str) and repo.startswith("file://"):
            target = (chart_dir / repo.removeprefix("file://")).resolve()
            if not (target / "Chart.yaml").is_file():
                raise CharthouseError(
                    f"{chart_file}: dependencies[{i}].repository: no chart at {repo}"
                )
            local.append(target)
    return ChartMeta(
        name=name,
        version=version,
        path=chart_dir.resolve(),
        metadata=data,
        file_dependencies=tuple(local),
    )


def discover(charts_dir: Path) -> dict[str, ChartMeta]:
    """Every chart directly under ``charts_dir``, by name."""
    if not charts_dir.is_dir():
        raise CharthouseError(f"{charts_dir}: charts directory not found")
    charts: dict[str, ChartMeta] = {}
    for chart_file in sorted(charts_dir.glob("*/Chart.yaml")):
        meta = load_chart(chart_file.parent)
        charts[meta.name] = meta
    return charts


def topological_order(charts: Mapping[str, ChartMeta]) -> list[str]:
    """Chart names, each after every local chart it depends on (stable: by name)."""
    by_path = {meta.path: name for name, meta in charts.items()}
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = " -> ".join((*trail, name))
            raise CharthouseError(f"{charts[name].chart_file}: dependencies: cycle {cycle}")
        state[name] = "visiting"
        for dep_path in charts[name].file_dependencies:
            dep = by_path.get(dep_path)
            if dep is not None:
                visit(dep, (*trail, name))
        state[name] = "done"
        order.append(name)

    for name in sorted(charts):
        visit(name, ())
    return order


def dependents(charts: Mapping[str, ChartMeta], names: set[str]) -> set[str]:
    """``names`` plus every chart that depends on one of them, transitively."""
    by_path = {meta.path: name for name, meta in charts.items()}
    result = set(names)
    changed = True
    while changed:
        changed = False
        for name, meta in charts.items():
            if name in result:
                continue
            if any(by_path.get(dep) in result for dep in meta.file_dependencies):
                result.add(name)
                changed = True
    return result
