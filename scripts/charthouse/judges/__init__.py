"""Independent judges of the charts: third-party linters, pinned in ``ci/tools.yaml``,
run over the rendered charts (and the chart metadata, and the CI workflows).

A judge is a module with ``NAME``, ``TOOL`` (its pin), ``SCOPE`` (what its result
depends on: the rendered ``manifests``, the chart sources in ``charts``, or the
``workflows``) and ``run(binary, inputs) -> list[Finding]``. What we reject of
their findings, and why, lives in one file, ``ci/judges.yaml``
(:mod:`charthouse.judges.policy`); :mod:`charthouse.judges.run` runs them all in
parallel, with results cached by the digest of their inputs.
"""

from __future__ import annotations

from charthouse.judges.model import Finding, Inputs, RenderedScenario

__all__ = ["Finding", "Inputs", "RenderedScenario"]
