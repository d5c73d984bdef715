"""Every chart's README values table matches its values.yaml (run `charthouse docs`)."""

from __future__ import annotations

import pytest

from charthouse.chartdocs import chart_docs
from charthouse.charts import ChartInfo, all_charts


@pytest.mark.parametrize("chart", all_charts(), ids=lambda c: c.name)
def test_readme_values_table_is_current(chart: ChartInfo) -> None:
    docs = chart_docs(chart.path)
    undocumented = [f"{k.path} (line {k.line})" for k in docs.undocumented]
    assert undocumented == [], f"{docs.values_path}: undocumented values"
    assert not docs.stale, f"{docs.readme_path} is stale: run `charthouse docs {chart.name}`"
