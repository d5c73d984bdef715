"""``helm template`` is deterministic: two renders of the same scenario are equal,
except generated secret values, which may only live in a Secret's data.

A random value anywhere else (a checksum of a generated secret on a pod template,
say) would roll pods on every GitOps sync, so it is a failure here.
"""

from __future__ import annotations

from typing import Any

import pytest

from charthouse import render as rendering
from charthouse.manifests import Manifests, ref
from support.rendering import ScenarioCase, scenario_params


def _diff(a: Any, b: Any, path: str) -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        keys = sorted(set(a) | set(b))
        return [d for k in keys for d in _diff(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _diff(x, y, f"{path}[{i}]")
        ]
    return [] if a == b else [path]


def _render(case: ScenarioCase) -> list[dict[str, Any]]:
    text = rendering.render(case.chart.path, values_files=case.values_files, engine="binary")
    return Manifests.parse(text).objects


@pytest.mark.parametrize("case", scenario_params())
def test_two_renders_differ_only_in_generated_secret_data(case: ScenarioCase) -> None:
    first, second = _render(case), _render(case)
    assert [ref(o) for o in first] == [ref(o) for o in second]
    unexpected = []
    for a, b in zip(first, second, strict=True):
        for path in _diff(a, b, ""):
            in_secret_data = a["kind"] == "Secret" and path.startswith((".data.", ".stringData."))
            if not in_secret_data:
                unexpected.append(f"{ref(a)}{path}")
    assert unexpected == [], "non-deterministic fields outside Secret data"
