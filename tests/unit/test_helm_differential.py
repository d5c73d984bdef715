"""Helm 3, Helm 4 and the SDK fast path render the same objects from the same values.

Helm versions do differ: Helm 4.2 drops ``null`` defaults that Helm 3 keeps, and
a template that read one with ``get`` once rendered an HPA memory target of 0 %
on Helm 4 only. So every render request below goes to the pinned helm 3 and helm
4 binaries and to the SDK, and :func:`charthouse.differential.compare` requires
identical objects (generated passwords and certificates compared by shape):

* every chart x scenario (defaults and ``ci/*-values.yaml``) x supported
  Kubernetes version; with ``test_scenarios.py`` validating the SDK's objects,
  this is also what proves the helm 3 and helm 4 renders valid;
* each boolean of ``values.yaml`` flipped on its own, each enum set to each other
  value, each ``null`` default set to a sample value;
* a sample of the schema-fuzz examples: ``test_schema_fuzz.py`` compares its first
  ``CHARTHOUSE_DIFFERENTIAL_EXAMPLES`` (default 8) examples per chart the same way
  (one generation serves both: hypothesis-jsonschema needs seconds per example on
  the app schema).

It also requires that no render makes helm print a warning, and that every
``null`` default a template reads (all but the rollout driver's settings) is reached
by some case (its output depends on the value), so a
new "null means unset" default cannot escape the comparison.

The binaries' results are cached on disk (:mod:`charthouse.rendercache`): a warm
run renders only with the SDK. ``pytest --collect-only`` counts the requests; each
goes to three engines.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from charthouse import differential, variants
from charthouse.charts import ChartInfo, all_charts
from charthouse.errors import CharthouseError
from charthouse.render import RenderRequest, SdkRenderer, sdk_available
from charthouse.render_choices import SUPPORTED_KUBE_VERSIONS
from charthouse.rollout.settings import DRIVER_ONLY_VALUES


@cache
def engines() -> differential.Engines:
    return differential.Engines()


def assert_engines_agree(request: RenderRequest) -> None:
    problems, outcomes = engines().compare(request)
    assert problems == [], "engines disagree:\n" + "\n".join(problems)
    warnings = [f"{name}: {w}" for name, o in outcomes.items() for w in o.warnings]
    assert warnings == [], "helm warned:\n" + "\n".join(warnings)


def case_params() -> list[Any]:
    return [
        pytest.param(case.request, id=case.name)
        for chart in all_charts()
        for case in differential.chart_cases(chart, SUPPORTED_KUBE_VERSIONS)
    ]


@pytest.mark.parametrize("request_", case_params())
def test_engines_render_identical_objects(request_: RenderRequest) -> None:
    assert_engines_agree(request_)


def null_default_params() -> list[Any]:
    return [
        pytest.param(chart, dotted, samples, id=f"{chart.name}:{dotted}")
        for chart in all_charts()
        for dotted, samples in variants.null_defaults(chart)
        if not (chart.name == "app" and dotted.startswith(_driver_only()))
    ]


def _driver_only() -> tuple[str, ...]:
    """Prefixes of app values read only by ``charthouse rollout``: no render reaches them."""
    return tuple(f"{prefix}." for prefix in DRIVER_ONLY_VALUES)


@pytest.mark.skipif(not sdk_available(), reason="the reachability search renders with the SDK")
@pytest.mark.parametrize(("chart", "dotted", "samples"), null_default_params())
def test_every_null_default_is_reached_by_a_compared_case(
    chart: ChartInfo, dotted: str, samples: list[Any]
) -> None:
    """Some case renders differently once the null is replaced by a value: that case
    runs the template code reading it, and is among the compared cases above."""
    assert samples, f"{chart.name}: {dotted}: the schema offers no sample value"
    sdk = SdkRenderer()
    path = tuple(dotted.split("."))
    for variant in [variants.Variant("defaults"), *variants.toggles(chart)]:
        try:
            unset = sdk.render(RenderRequest(chart.path, values=variant.values))
        except CharthouseError:  # a toggle whose render fails reaches nothing
            continue
        for sample in samples:
            values = variants.merged(variant.values, variants.nested(path, sample))
            try:
                if sdk.render(RenderRequest(chart.path, values=values)) != unset:
                    return
            except CharthouseError:
                continue
    pytest.fail(
        f"{chart.name}: no compared case reaches {dotted} (null by default): add a toggle "
        f"or a ci scenario whose output depends on it"
    )
