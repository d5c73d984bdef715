"""actionlint: the GitHub Actions workflows (syntax, expressions, shell scripts
through shellcheck when it is installed)."""

from __future__ import annotations

import json
from pathlib import Path

from charthouse.errors import CharthouseError
from charthouse.judges.model import Finding, Inputs
from charthouse.judges.toolrun import run_tool

NAME = "actionlint"
TOOL = "actionlint"
SCOPE = "workflows"


def run(binary: Path, inputs: Inputs) -> list[Finding]:
    if not inputs.workflows:
        return []
    result = run_tool([binary, "-format", "{{json .}}", *inputs.workflows])
    if result.returncode not in (0, 1):
        raise CharthouseError(f"actionlint: exit {result.returncode}: {result.stderr[-500:]}")
    try:
        errors = json.loads(result.stdout or "[]")
    except json.JSONDecodeError as exc:
        raise CharthouseError(f"actionlint: unreadable output: {result.stdout[:500]}") from exc
    return [
        Finding(
            judge=NAME,
            check=str(e.get("kind", "")),
            message=str(e.get("message", "")),
            where=f"{Path(str(e.get('filepath', ''))).name}:{e.get('line')}",
        )
        for e in errors
    ]
