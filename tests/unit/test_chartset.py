"""The chart-set graph: build order, what a chart needs, what needs a chart."""

from __future__ import annotations

from pathlib import Path

import pytest

from charthouse import paths
from charthouse.chartset import ChartSet
from charthouse.errors import CharthouseError


def chart(charts: Path, name: str, *deps: str, directory: str | None = None) -> Path:
    path = charts / (directory or name)
    path.mkdir(parents=True)
    lines = [f"apiVersion: v2\nname: {name}\nversion: 0.1.0\n"]
    if deps:
        lines.append("dependencies:\n")
        lines += [f"- name: {d}\n  version: 0.1.0\n  repository: file://../{d}\n" for d in deps]
    (path / "Chart.yaml").write_text("".join(lines))
    return path


@pytest.fixture
def diamond(tmp_path: Path) -> ChartSet:
    """lib <- (app, db) <- stack, plus a chart nothing relates to."""
    charts = tmp_path / "charts"
    chart(charts, "lib")
    chart(charts, "app", "lib")
    chart(charts, "db", "lib")
    chart(charts, "stack", "app", "db")
    chart(charts, "alone")
    return ChartSet.discover(charts)


def test_order_puts_every_dependency_first_and_is_stable_by_name(diamond: ChartSet) -> None:
    order = diamond.order()
    assert order == ["alone", "lib", "app", "db", "stack"]
    for name in diamond:
        assert all(order.index(dep) < order.index(name) for dep in diamond.dependencies(name))


def test_closure_and_dependents_follow_the_edges_both_ways(diamond: ChartSet) -> None:
    assert diamond.closure(["stack"]) == {"stack", "app", "db", "lib"}
    assert diamond.closure(["app"]) == {"app", "lib"}
    assert diamond.dependents(["lib"]) == {"lib", "app", "db", "stack"}
    assert diamond.dependents(["db"]) == {"db", "stack"}
    assert diamond.dependents(["alone"]) == {"alone"}
    with pytest.raises(KeyError):
        diamond.closure(["missing"])


def test_a_cycle_is_refused_naming_the_chart_that_closes_it(tmp_path: Path) -> None:
    charts = tmp_path / "charts"
    chart(charts, "a", "b")
    chart(charts, "b", "a")
    with pytest.raises(CharthouseError, match=r"b/Chart.yaml: dependencies: cycle a -> b -> a"):
        ChartSet.discover(charts).order()


def test_a_chart_named_unlike_its_directory_is_refused(tmp_path: Path) -> None:
    chart(tmp_path / "charts", "app", directory="api")
    with pytest.raises(CharthouseError, match=r"api/Chart.yaml: name: 'app' must match"):
        ChartSet.discover(tmp_path / "charts")
    with pytest.raises(CharthouseError, match="charts directory not found"):
        ChartSet.discover(tmp_path / "nowhere")


def test_reachable_from_follows_file_dependencies_out_of_the_charts_dir() -> None:
    stack = ChartSet.reachable_from(paths.CHARTS_DIR / "stack")
    assert {"stack", "app", "common"} <= set(stack)
    assert stack.order()[0] == "common"
    assert stack.order()[-1] == "stack"
