"""The in-process SDK renderer and the helm binary produce the same objects.

The SDK is our fast path, not our reference: this is what allows using it. Values
that a chart generates afresh on every render (random passwords) cannot be equal
between any two renders, so they are masked by rendering twice with each engine
and ignoring only the leaves that differ between those same-engine renders.
"""

from __future__ import annotations

from typing import Any

import pytest

from charthouse.manifests import Manifests
from charthouse.render import sdk_available
from charthouse.render_choices import SUPPORTED_KUBE_VERSIONS
from support.rendering import ScenarioCase, scenario_params
from support.rendering import render_text as memo_render_text

pytestmark = pytest.mark.skipif(not sdk_available(), reason="helm-python-sdk not loadable")

GENERATED = "<generated>"


def _fresh(case: ScenarioCase, kube_version: str, engine: str) -> list[dict[str, Any]]:
    from charthouse import render as rendering

    text = rendering.render(
        case.chart.path,
        values_files=case.values_files,
        release="rel",
        kube_version=kube_version,
        engine=engine,  # type: ignore[arg-type]
    )
    return Manifests.parse(text).objects


def _key(obj: dict[str, Any]) -> tuple[str, str, str]:
    meta = obj.get("metadata", {})
    return (obj["kind"], meta.get("namespace", ""), meta["name"])


def _mask(a: Any, b: Any) -> Any:
    """``a`` with every leaf that differs from ``b`` replaced by GENERATED."""
    if isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
        return {k: _mask(a[k], b[k]) for k in a}
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [_mask(x, y) for x, y in zip(a, b, strict=True)]
    return a if a == b else GENERATED


def _stable(first: list[dict[str, Any]], second: list[dict[str, Any]]) -> dict[Any, Any]:
    by_key = {_key(o): o for o in second}
    return {_key(o): _mask(o, by_key.get(_key(o))) for o in first}


def _apply_mask(objects: dict[Any, Any], mask: dict[Any, Any]) -> dict[Any, Any]:
    return {k: _mask_like(objects[k], mask.get(k)) for k in objects}


def _mask_like(value: Any, mask: Any) -> Any:
    if mask == GENERATED:
        return GENERATED
    if isinstance(value, dict) and isinstance(mask, dict):
        return {k: _mask_like(v, mask.get(k)) for k, v in value.items()}
    if isinstance(value, list) and isinstance(mask, list) and len(value) == len(mask):
        return [_mask_like(v, m) for v, m in zip(value, mask, strict=True)]
    return value


@pytest.mark.parametrize(
    "kube_version",
    [SUPPORTED_KUBE_VERSIONS[0], SUPPORTED_KUBE_VERSIONS[-1]],
    ids=["oldest", "newest"],
)
@pytest.mark.parametrize("case", scenario_params())
def test_sdk_and_binary_render_identical_objects(case: ScenarioCase, kube_version: str) -> None:
    sdk_a = _fresh(case, kube_version, "sdk")
    sdk_b = _fresh(case, kube_version, "sdk")
    ref_a = Manifests.parse(
        memo_render_text(
            case.chart.name,
            values_files=case.values_files,
            kube_version=kube_version,
            engine="binary",
        )
    ).objects
    ref_b = _fresh(case, kube_version, "binary")
    mask = _stable(sdk_a, sdk_b)
    ref_mask = _stable(ref_a, ref_b)
    assert sorted(mask) == sorted(ref_mask), "engines rendered different sets of objects"
    sdk_view = _apply_mask({_key(o): o for o in sdk_a}, mask)
    ref_view = _apply_mask({_key(o): o for o in ref_a}, mask)
    ref_view = _apply_mask(ref_view, ref_mask)
    sdk_view = _apply_mask(sdk_view, ref_mask)
    for key in sdk_view:
        assert sdk_view[key] == ref_view[key], f"{key} differs between sdk and helm4 binary"


def test_sdk_keeps_subcharts_after_a_render_that_disabled_one() -> None:
    """helm prunes disabled dependencies from a loaded chart in place; the SDK
    renderer must not let one render's pruning leak into the next."""
    from charthouse import render as rendering

    def deployments(text: str) -> set[str]:
        return {o["metadata"]["name"] for o in Manifests.parse(text).of_kind("Deployment")}

    with_app = deployments(rendering.render("stack", engine="binary"))
    without_app = deployments(
        rendering.render("stack", values_inline={"app": {"enabled": False}}, engine="sdk")
    )
    again = deployments(rendering.render("stack", engine="sdk"))
    assert without_app < with_app
    assert again == with_app
