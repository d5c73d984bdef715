"""pluto: deprecated and removed Kubernetes APIs at the newest supported version.

Pinned through a tools module with its own go.sum (the checksum database has no
record of the module; see ``ci/gomod/pluto/go.mod``)."""

from __future__ import annotations

import json
from pathlib import Path

from charthouse.errors import CharthouseError
from charthouse.judges.model import Finding, Inputs
from charthouse.judges.toolrun import run_tool

NAME = "pluto"
TOOL = "pluto"
SCOPE = "manifests"
# pluto's exit codes: 0 nothing found, 2 deprecated, 3 removed, 4 both.
FOUND = (0, 2, 3, 4)


def run(binary: Path, inputs: Inputs) -> list[Finding]:
    result = run_tool(
        [
            binary,
            "detect-files",
            "--directory",
            inputs.workdir / "manifests",
            "--output",
            "json",
            "--target-versions",
            f"k8s=v{inputs.kube_version}",
        ]
    )
    if result.returncode not in FOUND:
        raise CharthouseError(f"pluto: exit {result.returncode}: {result.stderr[-500:]}")
    try:
        report = json.loads(
            result.stdout.strip().splitlines()[0] if result.stdout.strip() else "{}"
        )
    except json.JSONDecodeError as exc:
        raise CharthouseError(f"pluto: unreadable output: {result.stdout[:500]}") from exc
    findings = []
    for item in report.get("items") or []:
        api = item.get("api") or {}
        state = "removed" if item.get("removed") else "deprecated"
        scenario = inputs.scenario_at(str(item.get("filePath", "")))
        message = (
            f"{api.get('version')} {api.get('kind')} is {state} "
            f"(deprecated in {api.get('deprecated-in')}, removed in {api.get('removed-in')}); "
            f"use {api.get('replacement-api')}"
        )
        findings.append(
            Finding(
                judge=NAME,
                check=state,
                message=message,
                chart=scenario.chart if scenario else "",
                scenario=scenario.scenario if scenario else "",
                object=f"{api.get('kind')}/{item.get('name')}",
            )
        )
    return findings
