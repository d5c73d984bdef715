"""Read a chart's Chart.yaml into the few facts the release pipeline needs.

Errors name the file and the field, so a broken chart stops the release before
anything is built or written.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from charthouse.charts import ChartInfo, load_chart
from charthouse.errors import CharthouseError
from charthouse.yamlfile import read_mapping

# One Chart.yaml reader for the whole package: the release pipeline's view of a
# chart is the same object `charthouse render`/`validate` use.
ChartMeta = ChartInfo
read_yaml_mapping = read_mapping


def discover(charts_dir: Path) -> dict[str, ChartMeta]:
    """Every chart directly under ``charts_dir``, by name."""
    if not charts_dir.is_dir():
        raise CharthouseError(f"{charts_dir}: charts directory not found")
    charts: dict[str, ChartMeta] = {}
    for chart_file in sorted(charts_dir.glob("*/Chart.yaml")):
        meta = load_chart(chart_file.parent)
        if meta.name != chart_file.parent.name:
            raise CharthouseError(
                f"{chart_file}: name: {meta.name!r} must match the chart directory "
                f"{chart_file.parent.name!r}"
            )
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
