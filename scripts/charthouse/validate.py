"""``charthouse validate``: lint, render every scenario, validate strictly, enforce policy.

For each chart it runs ``helm lint --strict``, renders the defaults and every
``ci/*-values.yaml`` with each requested helm major and Kubernetes version,
validates every object against that version's strict schema (CRDs against their
pinned CRD schemas), and runs :mod:`charthouse.policy` on every pod template.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from charthouse import crds, kubeschema, policy, render, tools
from charthouse.chartdeps import ensure_dependencies
from charthouse.charts import ChartInfo
from charthouse.errors import CharthouseError
from charthouse.manifests import Manifests, ref
from charthouse.proc import run
from charthouse.render_choices import DEFAULT_KUBE_VERSION, Engine
from charthouse.values import schema_errors, sources


@dataclass(frozen=True)
class Scenario:
    """The defaults (``values_file`` None) or one values file."""

    name: str
    values_file: Path | None

    @property
    def values_files(self) -> tuple[Path, ...]:
        return (self.values_file,) if self.values_file else ()


@dataclass
class ScenarioResult:
    chart: str
    scenario: str
    renders: int = 0
    objects: int = 0
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures


def scenarios(chart: ChartInfo, extra: Sequence[Path] = ()) -> list[Scenario]:
    """Defaults, each ``ci/*-values.yaml``, then any files the user passed."""
    found = [Scenario("defaults", None)]
    found += [Scenario(f"ci/{p.name}", p) for p in chart.scenarios()]
    found += [Scenario(str(p), p) for p in extra]
    return found


def lint(chart: ChartInfo, helm_major: int) -> list[str]:
    helm = tools.ensure_tool(f"helm{helm_major}")
    ensure_dependencies(chart.path, helm)
    result = run(
        [helm, "lint", "--strict", chart.path, "--kube-version", DEFAULT_KUBE_VERSION],
        check=False,
        timeout=120,
    )
    if result.returncode == 0:
        return []
    lines = [
        ln.strip()
        for ln in (result.stdout + result.stderr).splitlines()
        if "[ERROR]" in ln or "[WARNING]" in ln or ln.startswith("Error")
    ]
    return [f"helm{helm_major} lint --strict: {ln}" for ln in lines] or [
        f"helm{helm_major} lint --strict failed (exit {result.returncode})"
    ]


def check_objects(manifests: Manifests, kube_version: str) -> list[str]:
    """Strict schema failures for every object, then policy failures."""
    problems = []
    for obj in manifests:
        try:
            violation = kubeschema.validate_object(obj, kube_version)
        except LookupError:
            violation = crds.validate_object(obj)
        if violation is not None:
            problems.append(f"{ref(obj)}: {violation.field}: {violation.message}")
    problems += [str(v) for v in policy.check(manifests)]
    return problems


def run_scenario(
    chart: ChartInfo,
    scenario: Scenario,
    kube_versions: Sequence[str],
    helm_majors: Sequence[int],
    engine: Engine = "auto",
) -> ScenarioResult:
    started = time.perf_counter()
    result = ScenarioResult(chart.name, scenario.name)
    result.failures += schema_errors(chart, sources(scenario.values_files))
    if result.failures:
        result.seconds = time.perf_counter() - started
        return result
    seen: set[str] = set()
    for helm_major in helm_majors:
        for kube_version in kube_versions:
            where = f"[helm{helm_major} k8s {kube_version.rsplit('.', 1)[0]}]"
            try:
                text = render.render(
                    chart.path,
                    values_files=scenario.values_files,
                    kube_version=kube_version,
                    engine=engine,
                    helm_major=helm_major,
                )
            except CharthouseError as exc:
                result.failures.append(f"{where} render failed: {exc}")
                continue
            manifests = Manifests.parse(text, source=f"{chart.name} {scenario.name}")
            result.renders += 1
            result.objects = max(result.objects, len(manifests))
            for problem in check_objects(manifests, kube_version):
                if problem not in seen:  # the same flaw in every version is one failure
                    seen.add(problem)
                    result.failures.append(f"{where} {problem}")
    result.seconds = time.perf_counter() - started
    return result


def validate_chart(
    chart: ChartInfo,
    *,
    kube_versions: Sequence[str],
    helm_majors: Sequence[int],
    extra_values: Sequence[Path] = (),
    engine: Engine = "auto",
) -> Iterator[ScenarioResult]:
    """Yield one result for lint, then one per scenario."""
    lint_result = ScenarioResult(chart.name, "helm lint --strict")
    started = time.perf_counter()
    for helm_major in helm_majors:
        lint_result.failures += lint(chart, helm_major)
    lint_result.seconds = time.perf_counter() - started
    yield lint_result
    for scenario in scenarios(chart, extra_values):
        yield run_scenario(chart, scenario, kube_versions, helm_majors, engine)
