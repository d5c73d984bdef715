"""Render + validate benchmark: our path against the reference, in one process.

Usage: python bench/render.py [CHART...]   (default: every chart)

(a) baseline: ``helm template`` as a subprocess (helm 4) + ``kubernetes_validate``
    per object (strict), as a chart CI without charthouse would do it;
(b) ours: in-process SDK render + compiled, cached strict validators.

Prints per-scenario times and the ratio a/b (goal >= 20x), then validation
throughput in resources/s on one core (goal >= 5,000/s) with the ratio against
``kubernetes_validate``. Ratios, not absolute times, are the result: both sides
run on the same machine in the same process.
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial

import kubernetes_validate

from charthouse import kubeschema
from charthouse.charts import all_charts
from charthouse.manifests import Manifests
from charthouse.render import get_renderer, render
from charthouse.render_choices import DEFAULT_KUBE_VERSION

REPEATS = 5


def best_of(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def baseline(chart: str, values: list, version: str) -> None:
    text = render(chart, values_files=values, kube_version=version, engine="binary")
    for obj in Manifests.parse(text):
        # custom resources: kubernetes-validate has no schema for them
        with contextlib.suppress(kubernetes_validate.utils.SchemaNotFoundError):
            kubernetes_validate.validate(obj, version, strict=True)


def ours(chart: str, values: list, version: str) -> None:
    text = render(chart, values_files=values, kube_version=version, engine="sdk")
    for obj in Manifests.parse(text):
        with contextlib.suppress(LookupError):
            kubeschema.validate_object(obj, version)


def main() -> None:
    version = DEFAULT_KUBE_VERSION
    get_renderer("sdk"), get_renderer("binary")
    print(f"render + strict validate, k8s {version}, best of {REPEATS}")
    print(f"{'scenario':44} {'objects':>7} {'helm+kv ms':>11} {'ours ms':>9} {'ratio':>7}")
    ratios = []
    corpus = []
    wanted = set(sys.argv[1:])
    for chart in all_charts():
        if wanted and chart.name not in wanted:
            continue
        for values in [None, *chart.scenarios()]:
            files = [values] if values else []
            name = f"{chart.name}:{values.name if values else 'defaults'}"
            ours(chart.name, files, version)  # warm caches (compiled validators, chart load)
            objects = Manifests.parse(render(chart.name, values_files=files, engine="sdk")).objects
            corpus += objects
            a = best_of(partial(baseline, chart.name, files, version))
            b = best_of(partial(ours, chart.name, files, version))
            ratios.append(a / b)
            print(f"{name:44} {len(objects):7} {a * 1000:11.1f} {b * 1000:9.2f} {a / b:6.1f}x")
    print(
        f"\nrender+validate speed-up: median {statistics.median(ratios):.1f}x, "
        f"min {min(ratios):.1f}x (goal >= 20x)"
    )

    builtin = [o for o in corpus if kubeschema.validator_for(version, o["apiVersion"], o["kind"])]
    rounds = max(1, 20000 // max(1, len(builtin)))
    started = time.perf_counter()
    for _ in range(rounds):
        for obj in builtin:
            kubeschema.validate_object(obj, version)
    ours_rate = rounds * len(builtin) / (time.perf_counter() - started)
    sample = builtin[: min(len(builtin), 200)]
    started = time.perf_counter()
    for obj in sample:
        kubernetes_validate.validate(obj, version, strict=True)
    kv_rate = len(sample) / (time.perf_counter() - started)
    print(
        f"validation throughput (one core): {ours_rate:,.0f} resources/s "
        f"(goal >= 5,000/s); kubernetes-validate {kv_rate:,.0f}/s; ratio {ours_rate / kv_rate:.0f}x"
    )


if __name__ == "__main__":
    main()
