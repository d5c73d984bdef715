"""The in-process SDK renderer's own behaviour.

That the SDK and the helm binaries render identical objects for every scenario,
toggle and fuzz example is ``test_helm_differential.py``'s job.
"""

from __future__ import annotations

import pytest

from charthouse.manifests import Manifests
from charthouse.render import sdk_available

pytestmark = pytest.mark.skipif(not sdk_available(), reason="helm-python-sdk not loadable")


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
