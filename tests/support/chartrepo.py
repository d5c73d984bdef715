"""A throwaway chart repository for the release and serve tests: tiny charts (a library,
an app embedding it, a stack embedding the app) in a git repo, and what a maintainer
does to them. The fixtures that build one live in ``tests/unit/conftest.py``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CHARTS: dict[str, tuple[str, str]] = {
    # name: (extra Chart.yaml lines, template)
    "common": ("type: library\n", ""),
    "app": (
        "dependencies:\n- name: common\n  version: 0.1.0\n  repository: file://../common\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-app\n"
        "data:\n  replicas: {{ .Values.replicas | quote }}\n",
    ),
    "stack": (
        "dependencies:\n- name: app\n  version: 0.1.0\n  repository: file://../app\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-stack\n",
    ),
}

#: Charts with file:// dependencies, in the order their lock files must be generated.
WITH_DEPENDENCIES = ("app", "stack")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def write_chart(charts: Path, name: str, version: str = "0.1.0") -> None:
    extra, template = CHARTS[name]
    chart = charts / name
    (chart / "templates").mkdir(parents=True, exist_ok=True)
    (chart / "Chart.yaml").write_text(
        f"apiVersion: v2\nname: {name}\nversion: {version}\ndescription: test chart {name}\n"
        f"maintainers:\n- name: Test\n  email: test@example.invalid\n{extra}"
    )
    (chart / "values.yaml").write_text("replicas: 1\n")
    if template:
        (chart / "templates" / "cm.yaml").write_text(template)
    else:
        (chart / "templates" / "_helpers.tpl").write_text('{{- define "common.x" -}}x{{- end -}}\n')


@dataclass
class ChartRepo:
    root: Path

    @property
    def charts(self) -> Path:
        return self.root / "charts"

    @property
    def repo_dir(self) -> Path:
        return self.root / "dist" / "repo"

    def commit(self, message: str) -> None:
        git(self.root, "add", "--all")
        git(self.root, "commit", "--quiet", "-m", message)

    def snapshot(self) -> dict[str, bytes]:
        """Every file of the published repository, by name."""
        if not self.repo_dir.is_dir():
            return {}
        return {p.name: p.read_bytes() for p in sorted(self.repo_dir.iterdir()) if p.is_file()}


def helm_env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
    }


@dataclass(frozen=True)
class GpgKey:
    home: Path
    uid: str
    public_keyring: Path


Runner = Callable[..., subprocess.CompletedProcess[str]]


def release_in(
    root: Path, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The real ``charthouse release ARGS`` in a subprocess, on the chart repo at ``root``."""
    cmd = [
        sys.executable,
        "-m",
        "charthouse",
        "release",
        "--charts-dir",
        str(root / "charts"),
        "--repo-dir",
        str(root / "dist" / "repo"),
        *args,
    ]
    return subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        cwd=cwd or root,
        env={**os.environ, **(env or {})},
        timeout=300,
        check=False,
    )


def bump(repo: ChartRepo, helm: Path, versions: dict[str, str]) -> None:
    """What a maintainer does: set chart versions, point dependents at them, refresh locks."""
    for name, version in versions.items():
        chart = repo.charts / name / "Chart.yaml"
        text = chart.read_text()
        old = next(line for line in text.splitlines() if line.startswith("version: "))
        chart.write_text(text.replace(old, f"version: {version}", 1))
    for name in WITH_DEPENDENCIES:
        chart = repo.charts / name / "Chart.yaml"
        lines = chart.read_text().splitlines()
        for i, line in enumerate(lines):
            dep = line.removeprefix("- name: ")
            if dep != line and dep in versions and i + 1 < len(lines):
                lines[i + 1] = f"  version: {versions[dep]}"
        chart.write_text("\n".join(lines) + "\n")
        subprocess.run(
            [str(helm), "dependency", "update", str(chart.parent)],
            check=True,
            capture_output=True,
            env=helm_env(repo.root.parent / "helm-home"),
        )
