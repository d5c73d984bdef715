"""The one way tests render charts: ``render(chart, values, ...) -> Manifests``.

Renders are memoised per session (a chart x values x version x engine renders
once however many tests look at it), and every scenario the repo ships is listed
by :func:`scenario_params` so parametrised tests cover all of them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from charthouse import render as rendering
from charthouse.charts import ChartInfo, all_charts
from charthouse.manifests import Manifests
from charthouse.render import RenderError
from charthouse.render_choices import Engine


class RenderFn(Protocol):
    def __call__(
        self,
        chart: str,
        values: Mapping[str, Any] | None = None,
        *,
        values_files: Sequence[Path] = (),
        set_values: Sequence[str] = (),
        release: str = "rel",
        namespace: str = "default",
        kube_version: str | None = None,
        api_versions: Sequence[str] = (),
        helm: int = 4,
        engine: Engine = "auto",
    ) -> Manifests: ...


class RenderErrorFn(Protocol):
    def __call__(
        self,
        chart: str,
        values: Mapping[str, Any] | None = None,
        *,
        values_files: Sequence[Path] = (),
        set_values: Sequence[str] = (),
        helm: int = 4,
        engine: Engine = "auto",
    ) -> str: ...


_memo: dict[str, str] = {}


def render_text(
    chart: str,
    values: Mapping[str, Any] | None = None,
    *,
    values_files: Sequence[Path] = (),
    set_values: Sequence[str] = (),
    release: str = "rel",
    namespace: str = "default",
    kube_version: str | None = None,
    api_versions: Sequence[str] = (),
    helm: int = 4,
    engine: Engine = "auto",
) -> str:
    key = json.dumps(
        [
            chart,
            values,
            [str(p) for p in values_files],
            list(set_values),
            release,
            namespace,
            kube_version,
            list(api_versions),
            helm,
            engine,
        ],
        sort_keys=True,
        default=str,
    )
    if key not in _memo:
        _memo[key] = rendering.render(
            chart,
            values_files=values_files,
            values_inline=values,
            set_values=set_values,
            release=release,
            namespace=namespace,
            kube_version=kube_version,
            api_versions=api_versions,
            engine=engine,
            helm_major=helm,
        )
    return _memo[key]


def render(chart: str, values: Mapping[str, Any] | None = None, **kwargs: Any) -> Manifests:
    return Manifests.parse(render_text(chart, values, **kwargs), source=chart)


def render_error(chart: str, values: Mapping[str, Any] | None = None, **kwargs: Any) -> str:
    """Helm's error text for a render that must fail; fails the test if it renders."""
    try:
        render_text(chart, values, **kwargs)
    except RenderError as exc:
        return str(exc)
    pytest.fail(f"rendering {chart} with {values or kwargs} succeeded but should have failed")


def names_field(message: str, dotted: str) -> bool:
    """Whether an error names ``dotted`` (``a.b``), as we print it or as helm's JSON
    pointer (``/a/b``): the binary and the SDK engines word schema errors differently."""
    return dotted in message or "/" + dotted.replace(".", "/") in message


@dataclass(frozen=True)
class ScenarioCase:
    chart: ChartInfo
    values_file: Path | None

    @property
    def id(self) -> str:
        return f"{self.chart.name}:{self.values_file.name if self.values_file else 'defaults'}"

    @property
    def values_files(self) -> tuple[Path, ...]:
        return (self.values_file,) if self.values_file else ()


def scenario_cases() -> list[ScenarioCase]:
    cases = []
    for chart in all_charts():
        cases.append(ScenarioCase(chart, None))
        cases += [ScenarioCase(chart, path) for path in chart.scenarios()]
    return cases


def scenario_params() -> list[Any]:
    return [pytest.param(case, id=case.id) for case in scenario_cases()]
