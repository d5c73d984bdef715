"""What a user sees of the charts' kubeVersion constraint (>=1.31, <1.38) with the
pinned helm binaries: `helm template` without a cluster works without flags, like
helm's release binaries (they assume the Kubernetes version of their client-go,
1.37), and an unsupported version fails before rendering, naming both versions."""

from __future__ import annotations

import pytest

from charthouse import tools
from charthouse.chartdeps import ensure_dependencies
from charthouse.charts import all_charts
from charthouse.proc import run

HELMS = [pytest.param("helm3", id="helm3"), pytest.param("helm4", id="helm4")]


@pytest.mark.parametrize("helm", HELMS)
@pytest.mark.parametrize("chart", [c.name for c in all_charts()])
def test_helm_template_needs_no_kube_version_flag(helm: str, chart: str) -> None:
    binary = tools.ensure_tool(helm)
    info = next(c for c in all_charts() if c.name == chart)
    ensure_dependencies(info.path, binary)
    result = run([binary, "template", "rel", info.path], check=False, timeout=120)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("helm", HELMS)
def test_an_unsupported_kubernetes_version_fails_naming_both(helm: str) -> None:
    binary = tools.ensure_tool(helm)
    info = next(c for c in all_charts() if c.name == "app")
    ensure_dependencies(info.path, binary)
    result = run(
        [binary, "template", "rel", info.path, "--kube-version", "1.30.0"], check=False, timeout=120
    )
    assert result.returncode != 0
    assert "chart requires kubeVersion: >=1.31.0-0 <1.38.0-0" in result.stderr
    assert "v1.30.0" in result.stderr
