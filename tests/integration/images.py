"""Image tags the embedded cluster must use instead of a chart's default.

The embedded cluster's images are built here from pinned sources. Traefik's
default tag in the ingress chart (v3.7.13) does not build from the Go module
proxy, so on the embedded cluster the ingress controller runs the newest
Traefik that does (docs/cluster.md, section Images). On kind and existing
clusters the charts' own defaults are pulled from their registries.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from charthouse.images.catalog import load


@cache
def _traefik_tag() -> str:
    return load().get("traefik").ref.tag


def embedded_values(chart: str) -> dict[str, Any]:
    """Values every install of ``chart`` gets on the embedded cluster."""
    ingress: dict[str, Any] = {"image": {"tag": _traefik_tag()}}
    per_chart: dict[str, dict[str, Any]] = {"ingress": ingress, "stack": {"ingress": ingress}}
    return per_chart.get(chart, {})
