"""Render once what every judge reads: each application chart's defaults and
``ci/*-values.yaml`` scenarios, one manifest file per chart x scenario.

Rendered on the fast path (the SDK when it loads, else helm 4): the differential
test proves every engine renders these same objects. The release is named
``judged`` in the namespace ``charthouse``, so a check against the ``default``
namespace flags only what really lands there.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from charthouse import paths, render
from charthouse.charts import ChartInfo
from charthouse.judges.model import Inputs, RenderedScenario
from charthouse.manifests import Manifests
from charthouse.render_choices import DEFAULT_KUBE_VERSION

RELEASE = "judged"
NAMESPACE = "charthouse"


def build(
    charts: Sequence[ChartInfo],
    workdir: Path,
    *,
    all_charts: Sequence[ChartInfo] = (),
    kube_version: str = DEFAULT_KUBE_VERSION,
) -> Inputs:
    """Render ``charts`` into ``workdir``; ``all_charts`` (default: ``charts``), library
    charts included, are the ones whose metadata the chart-level judges read."""
    scenarios: list[RenderedScenario] = []
    for chart in charts:
        if chart.is_library:
            continue
        cases: list[tuple[str, tuple[Path, ...]]] = [("defaults", ())]
        cases += [(p.name.removesuffix("-values.yaml"), (p,)) for p in chart.scenarios()]
        for name, values_files in cases:
            text = render.render(
                chart.path,
                values_files=values_files,
                release=RELEASE,
                namespace=NAMESPACE,
                kube_version=kube_version,
            )
            target = workdir / "manifests" / chart.name / f"{name}.yaml"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            manifests = Manifests.parse(text, source=f"{chart.name} {name}")
            scenarios.append(RenderedScenario(chart.name, name, target, manifests))
    chart_dirs = [c.path for c in (all_charts or charts)]
    root = chart_dirs[0].parent if chart_dirs else paths.CHARTS_DIR
    workflows = sorted((paths.REPO_ROOT / ".github" / "workflows").glob("*.y*ml"))
    return Inputs(workdir, scenarios, chart_dirs, root, workflows, kube_version)
