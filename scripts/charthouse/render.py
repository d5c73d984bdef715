"""Rendering charts to manifests, behind one interface with two engines.

* :class:`HelmBinaryRenderer` runs ``helm template`` (helm 3 or 4): the reference.
* :class:`SdkRenderer` renders in-process through ``helm-python-sdk`` (the Helm 4
  Go SDK as a shared library): ~50x faster, which makes rendering every chart x
  scenario x Kubernetes version affordable in unit tests. It is young and has a
  single maintainer, so it is only a fast path: ``tests/unit/test_helm_differential.py``
  proves it and the helm 3 and helm 4 binaries produce identical objects, and
  :func:`get_renderer` falls back to the binary whenever the SDK is unavailable.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from charthouse import tools, values
from charthouse.chartdeps import ensure_dependencies
from charthouse.charts import ChartInfo, load_chart, resolve_chart_dir
from charthouse.errors import CharthouseError
from charthouse.proc import run
from charthouse.render_choices import (
    DEFAULT_HELM_MAJOR,
    DEFAULT_KUBE_VERSION,
    HELM_MAJORS,
    Engine,
    normalise_kube_version,
)
from charthouse.sdkchart import schema_free_copy


@dataclass(frozen=True)
class RenderRequest:
    """Everything that determines a render; equal requests give equal output."""

    chart: Path
    values_files: tuple[Path, ...] = ()
    values: Mapping[str, Any] | None = None
    set_values: tuple[str, ...] = ()
    release: str = "release"
    namespace: str = "default"
    kube_version: str = DEFAULT_KUBE_VERSION
    api_versions: tuple[str, ...] = field(default_factory=tuple)


class RenderError(CharthouseError):
    """A template failed (``fail``, schema rejection, bad values); message is helm's."""


class Renderer(Protocol):
    name: str

    def render(self, request: RenderRequest) -> str:
        """Return the rendered manifests as one multi-document YAML string."""
        ...


_SURROGATES = re.compile(r"(?<!\\)((?:\\\\)*)\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})")


def values_document(values: Mapping[str, Any]) -> str:
    """``values`` as a values file helm reads back exactly: JSON (YAML 1.2 reads it
    as written, where PyYAML's YAML 1.1 output leaves "08" unquoted for helm to read
    as a number), with characters beyond the BMP as YAML's ``\\U`` escapes, since
    helm's parser refuses JSON's surrogate pairs."""

    def astral(match: re.Match[str]) -> str:
        high, low = int(match.group(2), 16), int(match.group(3), 16)
        code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        return f"{match.group(1)}\\U{code:08x}"

    return _SURROGATES.sub(astral, json.dumps(dict(values)))


def _helm_error(chart: Path, stderr: str) -> str:
    lines = [line.removeprefix("Error: ") for line in stderr.strip().splitlines()]
    lines = [line for line in lines if not line.startswith(("Use --debug", "helm.go:"))]
    return f"{chart}: " + "\n".join(lines)


class HelmBinaryRenderer:
    """``helm template`` as a subprocess: the reference engine."""

    def __init__(self, major: int) -> None:
        if major not in HELM_MAJORS:
            raise CharthouseError(f"--helm: expected one of {HELM_MAJORS}, got {major}")
        self.major = major
        self.name = f"helm{major}"
        self.helm = tools.ensure_tool(self.name)

    def render(self, request: RenderRequest) -> str:
        return self.render_with_log(request)[0]

    def render_with_log(self, request: RenderRequest) -> tuple[str, str]:
        """The manifests and helm's stderr (its warnings) of a successful render."""
        ensure_dependencies(request.chart, self.helm)
        cmd: list[str | Path] = [
            self.helm,
            "template",
            request.release,
            request.chart,
            "--namespace",
            request.namespace,
            "--kube-version",
            request.kube_version,
        ]
        for api in request.api_versions:
            cmd += ["--api-versions", api]
        for values_file in request.values_files:
            cmd += ["--values", values_file]
        with tempfile.TemporaryDirectory(prefix="charthouse-render-") as tmp:
            if request.values:
                inline = Path(tmp) / "inline-values.json"
                inline.write_text(values_document(request.values))
                cmd += ["--values", inline]
            for expression in request.set_values:
                cmd += ["--set", expression]
            result = run(cmd, check=False, timeout=120)
        if result.returncode != 0:
            raise RenderError(_helm_error(request.chart, result.stderr))
        return result.stdout, result.stderr


class SdkRenderer:
    """In-process Helm 4 rendering through ``helm-python-sdk``.

    The SDK's public ``render()`` has no Kubernetes-version or API-versions option,
    but its native ``helm_render`` accepts ``kube_version`` and ``api_versions``
    (as ``helm lint`` does); the engine-equivalence test keeps us honest about it.
    Values are validated against the charts' schemas here, with validators compiled
    once, and a schema-free copy of the chart is rendered (:mod:`charthouse.sdkchart`
    says why); invalid values raise :class:`RenderError` naming the file and field.
    """

    name = "sdk"

    def __init__(self) -> None:
        import helm_python

        self._sdk = helm_python
        self._helm = tools.ensure_tool("helm4")  # only for building dependencies
        self._handles: dict[tuple[Path, tuple[Any, ...]], Any] = {}

    def _chart_handle(self, chart: Path, user_values: Mapping[str, Any]) -> Any:
        """A loaded chart, reused across renders that enable the same dependencies:
        helm prunes disabled dependencies from the loaded chart in place, so the
        cache key is the value of every dependency condition."""
        key = _conditions_key(load_chart(chart), user_values)
        if key is None:  # tags: too dynamic to key on; load afresh
            return self._sdk.Chart.load(schema_free_copy(chart))
        if (chart, key) not in self._handles:
            self._handles[(chart, key)] = self._sdk.Chart.load(schema_free_copy(chart))
        return self._handles[(chart, key)]

    def render(self, request: RenderRequest) -> str:
        from helm_python import _native

        ensure_dependencies(request.chart, self._helm)
        layers = values.sources(request.values_files, request.values, request.set_values)
        problems = values.schema_errors(load_chart(request.chart), layers)
        if problems:
            raise RenderError(
                f"{request.chart}: values don't meet the schema:\n" + "\n".join(problems)
            )
        merged: dict[str, Any] = {}
        for layer in layers:
            merged = values.deep_merge(merged, layer.values, keep_null=True)
        options: dict[str, Any] = {
            "name": request.release,
            "namespace": request.namespace,
            "is_install": True,
            "kube_version": request.kube_version,
        }
        if request.api_versions:
            options["api_versions"] = list(request.api_versions)
        # keep a reference while rendering: garbage collection frees the native handle
        chart = self._chart_handle(request.chart, merged)
        try:
            rendered = _native.call_string(
                "helm_render",
                chart._raw(),
                json.dumps(merged),
                json.dumps(options),
            )
        except self._sdk.HelmError as exc:
            raise RenderError(f"{request.chart}: {exc}") from exc
        manifests: dict[str, str] = json.loads(rendered)
        return _join_like_helm(manifests)


def _conditions_key(info: ChartInfo, user_values: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """The value of each dependency's ``condition`` (defaults + user values)."""
    deps = [d for d in info.metadata.get("dependencies") or [] if isinstance(d, dict)]
    if any(d.get("tags") for d in deps):
        return None
    merged = values.deep_merge(values.chart_defaults(info), user_values)
    return tuple(values.dependency_conditions(info, merged).values())


def _join_like_helm(manifests: Mapping[str, str]) -> str:
    documents = []
    for template, body in sorted(manifests.items()):
        if template.endswith("NOTES.txt") or not body.strip():
            continue
        documents.append(f"---\n# Source: {template}\n{body.strip()}\n")
    return "".join(documents)


def sdk_available() -> bool:
    if os.environ.get("CHARTHOUSE_RENDER_ENGINE") == "binary":
        return False
    try:
        import helm_python

        helm_python.helm_sdk_version()
    except Exception:  # any load failure of the native library means: no fast path
        return False
    return True


@lru_cache(maxsize=4)
def get_renderer(engine: Engine = "auto", helm_major: int = DEFAULT_HELM_MAJOR) -> Renderer:
    """The renderer to use. ``auto`` = the SDK fast path for Helm 4 when it loads,
    else the binary. Asking for helm 3 always gets the binary."""
    if engine == "sdk" or (engine == "auto" and helm_major == 4 and sdk_available()):
        if engine == "sdk" and not sdk_available():
            raise CharthouseError(
                "render engine sdk: helm-python-sdk is not installed or fails "
                "to load; install charthouse[fast] or use --engine binary"
            )
        return SdkRenderer()
    return HelmBinaryRenderer(helm_major)


def render(
    chart: Path | str,
    *,
    values_files: Sequence[Path] = (),
    values_inline: Mapping[str, Any] | None = None,
    set_values: Sequence[str] = (),
    release: str = "release",
    namespace: str = "default",
    kube_version: str | None = None,
    api_versions: Sequence[str] = (),
    engine: Engine = "auto",
    helm_major: int = DEFAULT_HELM_MAJOR,
) -> str:
    """Render ``chart`` and return the manifests text."""
    request = RenderRequest(
        chart=resolve_chart_dir(chart),
        values_files=tuple(Path(p) for p in values_files),
        values=values_inline,
        set_values=tuple(set_values),
        release=release,
        namespace=namespace,
        kube_version=normalise_kube_version(kube_version or DEFAULT_KUBE_VERSION),
        api_versions=tuple(api_versions),
    )
    return get_renderer(engine, helm_major).render(request)
