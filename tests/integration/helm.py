"""The real helm binary (3 or 4, from ci/tools.yaml) pointed at the test cluster."""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from charthouse import paths
from charthouse.chartdeps import ensure_dependencies
from charthouse.tools import ensure_tool

WAIT_TIMEOUT = "180s"


@dataclass(frozen=True)
class HelmResult:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def check(self) -> HelmResult:
        if not self.ok:
            raise AssertionError(
                f"helm {' '.join(self.args)} failed (exit {self.returncode}):\n{self.stderr}"
            )
        return self


@dataclass(frozen=True)
class Helm:
    major: int
    binary: Path
    kubeconfig: Path
    # Values the cluster needs under every install of a chart (see cluster_values), applied
    # first so a test's own values still win.
    cluster_values: Callable[[str], dict[str, Any]] | None = None

    @classmethod
    def for_major(
        cls,
        major: int,
        kubeconfig: Path,
        cluster_values: Callable[[str], dict[str, Any]] | None = None,
    ) -> Helm:
        return cls(major, ensure_tool(f"helm{major}"), kubeconfig, cluster_values)

    def run(self, *args: str | Path, timeout: float = 300.0) -> HelmResult:
        argv = [str(a) for a in args]
        proc = subprocess.run(
            [str(self.binary), *argv, "--kubeconfig", str(self.kubeconfig)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return HelmResult(argv, proc.returncode, proc.stdout, proc.stderr)

    def prepare(self, chart: str | Path) -> Path:
        chart_dir = Path(chart) if isinstance(chart, Path) else paths.CHARTS_DIR / chart
        ensure_dependencies(chart_dir, self.binary)
        return chart_dir

    def install_or_upgrade(
        self,
        action: str,
        release: str,
        chart: str | Path,
        namespace: str,
        *,
        values_files: Sequence[Path] = (),
        set_values: Sequence[str] = (),
        values: dict[str, Any] | None = None,
        extra: Sequence[str] = (),
        wait: bool = True,
    ) -> HelmResult:
        chart_ref = self.prepare(chart) if not str(chart).endswith(".tgz") else Path(chart)
        args: list[str | Path] = [action, release, chart_ref, "--namespace", namespace]
        temporary: list[Path] = []
        base = self.cluster_values(_chart_name(chart)) if self.cluster_values else {}
        if base:
            temporary.append(_temp_values(base))
            args += ["--values", temporary[-1]]
        for path in values_files:
            args += ["--values", path]
        for item in set_values:
            args += ["--set", item]
        if values:
            temporary.append(_temp_values(values))
            args += ["--values", temporary[-1]]
        if wait:
            args += ["--wait", "--wait-for-jobs", "--timeout", WAIT_TIMEOUT]
        args += list(extra)
        try:
            return self.run(*args)
        finally:
            for path in temporary:
                path.unlink(missing_ok=True)

    def manifest(self, release: str, namespace: str) -> list[dict[str, Any]]:
        out = self.run("get", "manifest", release, "--namespace", namespace).check().stdout
        return [doc for doc in yaml.safe_load_all(out) if doc]

    def values(self, release: str, namespace: str, *, all_values: bool = False) -> dict[str, Any]:
        args = ["get", "values", release, "--namespace", namespace, "--output", "json"]
        out = self.run(*args, *(["--all"] if all_values else [])).check().stdout
        result: dict[str, Any] = json.loads(out) or {}
        return result

    def status(self, release: str, namespace: str) -> str:
        result = self.run("status", release, "--namespace", namespace, "--show-resources")
        if not result.ok:  # helm 4 dropped/changed some flags; fall back to the plain form
            result = self.run("status", release, "--namespace", namespace)
        return result.stdout + result.stderr

    def test(self, release: str, namespace: str) -> HelmResult:
        return self.run("test", release, "--namespace", namespace, "--timeout", WAIT_TIMEOUT)

    def uninstall(self, release: str, namespace: str, *, wait: bool = True) -> HelmResult:
        args = ["uninstall", release, "--namespace", namespace]
        return self.run(*args, *(["--wait"] if wait else []))

    def rollback(self, release: str, namespace: str, revision: int) -> HelmResult:
        return self.run(
            "rollback",
            release,
            str(revision),
            "--namespace",
            namespace,
            "--wait",
            "--timeout",
            WAIT_TIMEOUT,
        )


def _chart_name(chart: str | Path) -> str:
    """The chart name in ``ingress``, ``charts/ingress``, ``repo/ingress``, ``ingress-1.0.tgz``."""
    name = Path(str(chart)).name
    if name.endswith(".tgz"):
        name = name.removesuffix(".tgz").rsplit("-", 1)[0]
    return name


def _temp_values(values: dict[str, Any]) -> Path:
    with tempfile.NamedTemporaryFile(
        "w", suffix="-values.yaml", prefix="charthouse-", delete=False
    ) as handle:
        yaml.safe_dump(values, handle)
    return Path(handle.name)
