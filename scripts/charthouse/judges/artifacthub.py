"""Artifact Hub's ``ah lint``: the chart metadata Artifact Hub shows (maintainers,
images, changes, links, sign key, ...). Errors and every "NOT PROVIDED" field
are findings; the field name is the check."""

from __future__ import annotations

import re
from pathlib import Path

from charthouse.errors import CharthouseError
from charthouse.judges.model import Finding, Inputs
from charthouse.judges.toolrun import run_tool

NAME = "ah lint"
TOOL = "ah"
SCOPE = "charts"
_PACKAGE = re.compile(r"^[✓✗] (\S+) \S+ \((.+)\)$")
_MISSING = re.compile(r"^! (.+?): \*\*\* NOT PROVIDED \*\*\*$")
_ERROR = re.compile(r"^  \* (.+)$")


def run(binary: Path, inputs: Inputs) -> list[Finding]:
    findings = []
    for chart_dir in inputs.chart_dirs:
        result = run_tool([binary, "lint", "--kind", "helm", "--path", chart_dir])
        if result.returncode not in (0, 1) or "package(s) found" not in result.stdout:
            raise CharthouseError(
                f"ah lint {chart_dir}: exit {result.returncode}: {result.stderr[-500:]}"
            )
        chart = chart_dir.name
        for line in result.stdout.splitlines():
            package = _PACKAGE.match(line)
            if package:
                chart = package.group(1)
            elif missing := _MISSING.match(line):
                field = missing.group(1)
                check = field.lower().replace(" ", "-")
                findings.append(Finding(NAME, check, f"{field} not provided", chart=chart))
            elif error := _ERROR.match(line):
                findings.append(Finding(NAME, "error", error.group(1), chart=chart))
    return findings
