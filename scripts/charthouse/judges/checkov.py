"""checkov (Kubernetes framework): policy checks of every rendered object, offline
(``--skip-download``; see :mod:`charthouse.judges.toolrun` for the network guard)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from charthouse.errors import CharthouseError
from charthouse.judges.model import Finding, Inputs
from charthouse.judges.toolrun import run_tool

NAME = "checkov"
TOOL = "checkov"
SCOPE = "manifests"


def run(binary: Path, inputs: Inputs) -> list[Finding]:
    root = inputs.workdir / "manifests"
    result = run_tool(
        [
            binary,
            "--directory",
            root,
            "--framework",
            "kubernetes",
            "--output",
            "json",
            "--quiet",
            "--compact",
            "--skip-download",
        ],
        timeout=900,
    )
    try:
        report: Any = json.loads(result.stdout or "{}")
    except json.JSONDecodeError as exc:
        raise CharthouseError(f"checkov: unreadable output: {result.stderr[-500:]}") from exc
    reports = report if isinstance(report, list) else [report]
    findings = []
    for part in reports:
        for failed in (part.get("results") or {}).get("failed_checks") or []:
            scenario = inputs.scenario_at(root / str(failed["file_path"]).lstrip("/"))
            kind, _, rest = str(failed.get("resource", "")).partition(".")
            name = rest.rpartition(".")[2] if "." in rest else rest
            findings.append(
                Finding(
                    judge=NAME,
                    check=str(failed["check_id"]),
                    message=str(failed.get("check_name", "")),
                    chart=scenario.chart if scenario else "",
                    scenario=scenario.scenario if scenario else "",
                    object=f"{kind}/{name}",
                    hook=scenario.hook_of(kind, name) if scenario else "",
                )
            )
    if result.returncode not in (0, 1):
        raise CharthouseError(f"checkov: exit {result.returncode}: {result.stderr[-500:]}")
    return findings
