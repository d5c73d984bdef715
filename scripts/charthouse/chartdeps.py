"""Building charts' ``file://`` dependencies into ``charts/<name>/charts/`` when stale.

Dependencies are built in the chart set's order (``stack`` needs ``app`` packaged
with ``common`` inside it) and only when a source changed since the last build,
under a lock so that parallel test workers never race on ``charts/<name>/charts/``.
"""

from __future__ import annotations

from pathlib import Path

from charthouse import paths
from charthouse.charts import ChartInfo, load_chart, resolve_chart_dir
from charthouse.chartset import ChartSet
from charthouse.locks import file_lock
from charthouse.proc import run

_ensured: set[tuple[Path, Path]] = set()


def _newest_mtime(directory: Path) -> float:
    newest = 0.0
    for path in directory.rglob("*"):
        if path.is_file() and "charts" not in path.relative_to(directory).parts[:1]:
            newest = max(newest, path.stat().st_mtime)
    return newest


def _deps_stale(info: ChartInfo) -> bool:
    built = info.path / "charts"
    for dep_dir in info.file_dependencies:
        dep = load_chart(dep_dir)
        archive = built / f"{dep.name}-{dep.version}.tgz"
        if not archive.is_file():
            return True
        source_mtime = max(_newest_mtime(dep_dir), _archive_inputs_mtime(dep))
        if source_mtime > archive.stat().st_mtime:
            return True
    return False


def _archive_inputs_mtime(dep: ChartInfo) -> float:
    """A dependency's own built dependencies count as its inputs too."""
    built = dep.path / "charts"
    if not built.is_dir():
        return 0.0
    return max((p.stat().st_mtime for p in built.glob("*.tgz")), default=0.0)


def ensure_dependencies(chart: Path | str, helm: Path) -> None:
    """Build ``file://`` dependencies (recursively, deepest first) when stale.

    Checked once per chart per process: charthouse processes are short-lived (a
    CLI call, a test session), and the check walks every file of the dependencies.
    """
    key = (resolve_chart_dir(chart), helm)
    if key in _ensured:
        return
    with file_lock(paths.CACHE_HOME / "locks" / "chart-deps.lock"):
        _build_stale(key[0], helm)
    _ensured.add(key)


def _build_stale(chart_dir: Path, helm: Path) -> None:
    charts = ChartSet.reachable_from(chart_dir)
    for name in charts.order():
        info = charts[name]
        if info.file_dependencies and _deps_stale(info):
            action = "build" if (info.path / "Chart.lock").is_file() else "update"
            run([helm, "dependency", action, info.path, "--skip-refresh"], timeout=300)
