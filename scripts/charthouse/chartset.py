"""A set of charts and the ``file://`` dependencies between them: the one graph that
answers build order, what a chart needs and what needs a chart.

Building dependencies (``stack`` embeds ``app``, which embeds ``common``), packaging
a release, and following a change to the charts that embed it all walk this graph;
:class:`ChartSet` is that walk, written once. Edges point from a chart to the
charts it depends on; dependencies outside the set are ignored (they are built,
not released, by whoever owns them).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from charthouse.charts import ChartInfo, load_chart
from charthouse.errors import CharthouseError


class ChartSet(Mapping[str, ChartInfo]):
    """Charts by name, with their dependency edges inside the set."""

    def __init__(self, charts: Iterable[ChartInfo]) -> None:
        self._charts: dict[str, ChartInfo] = {}
        for chart in charts:
            other = self._charts.get(chart.name)
            if other is not None and other.path != chart.path:
                raise CharthouseError(
                    f"{chart.chart_file}: name: {chart.name!r} is also the name of {other.path}"
                )
            self._charts[chart.name] = chart
        by_path = {chart.path: name for name, chart in self._charts.items()}
        self._edges: dict[str, tuple[str, ...]] = {
            name: tuple(by_path[dep] for dep in chart.file_dependencies if dep in by_path)
            for name, chart in self._charts.items()
        }

    @classmethod
    def discover(cls, charts_dir: Path) -> ChartSet:
        """Every chart directly under ``charts_dir``; each must be named like its directory."""
        if not charts_dir.is_dir():
            raise CharthouseError(f"{charts_dir}: charts directory not found")
        charts = []
        for chart_file in sorted(charts_dir.glob("*/Chart.yaml")):
            chart = load_chart(chart_file.parent)
            if chart.name != chart_file.parent.name:
                raise CharthouseError(
                    f"{chart_file}: name: {chart.name!r} must match the chart directory "
                    f"{chart_file.parent.name!r}"
                )
            charts.append(chart)
        return cls(charts)

    @classmethod
    def reachable_from(cls, chart_dir: Path) -> ChartSet:
        """``chart_dir``'s chart and every chart its ``file://`` dependencies reach."""
        found: dict[Path, ChartInfo] = {}
        pending = [chart_dir.resolve()]
        while pending:
            path = pending.pop()
            if path in found:
                continue
            found[path] = load_chart(path)
            pending.extend(found[path].file_dependencies)
        return cls(found.values())

    def __getitem__(self, name: str) -> ChartInfo:
        return self._charts[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._charts)

    def __len__(self) -> int:
        return len(self._charts)

    def dependencies(self, name: str) -> tuple[str, ...]:
        """The charts of the set that ``name`` depends on directly."""
        return self._edges[name]

    def order(self) -> list[str]:
        """Every chart after each chart it depends on; ties broken by name. A cycle
        is refused, naming the Chart.yaml that closes it."""
        order: list[str] = []
        state: dict[str, str] = {}

        def visit(name: str, trail: tuple[str, ...]) -> None:
            if state.get(name) == "done":
                return
            if state.get(name) == "visiting":
                cycle = " -> ".join((*trail, name))
                raise CharthouseError(f"{self[trail[-1]].chart_file}: dependencies: cycle {cycle}")
            state[name] = "visiting"
            for dep in sorted(self._edges[name]):
                visit(dep, (*trail, name))
            state[name] = "done"
            order.append(name)

        for name in sorted(self._charts):
            visit(name, ())
        return order

    def closure(self, names: Iterable[str]) -> set[str]:
        """``names`` and every chart they depend on, transitively."""
        return self._reach(names, self._edges)

    def dependents(self, names: Iterable[str]) -> set[str]:
        """``names`` and every chart that depends on one of them, transitively."""
        reverse: dict[str, list[str]] = {name: [] for name in self._charts}
        for name, deps in self._edges.items():
            for dep in deps:
                reverse[dep].append(name)
        return self._reach(names, reverse)

    def _reach(self, names: Iterable[str], edges: Mapping[str, Iterable[str]]) -> set[str]:
        result: set[str] = set()
        pending = list(names)
        while pending:
            name = pending.pop()
            if name not in result:
                if name not in self._charts:
                    raise KeyError(name)
                result.add(name)
                pending.extend(edges[name])
        return result
