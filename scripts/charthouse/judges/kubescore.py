"""kube-score: best-practice checks of each rendered release (one run per chart x
scenario, so that cross-object checks such as "an Ingress targets a Service" see
exactly one release)."""

from __future__ import annotations

import json
from pathlib import Path

from charthouse.errors import CharthouseError
from charthouse.judges.model import Finding, Inputs
from charthouse.judges.toolrun import run_tool

NAME = "kube-score"
TOOL = "kube-score"
SCOPE = "manifests"
OK_GRADE = 10


def run(binary: Path, inputs: Inputs) -> list[Finding]:
    minor = ".".join(inputs.kube_version.split(".")[:2])
    findings = []
    for scenario in inputs.scenarios:
        result = run_tool(
            [
                binary,
                "score",
                "--output-format",
                "json",
                "--kubernetes-version",
                f"v{minor}",
                scenario.path,
            ]
        )
        try:
            objects = json.loads(result.stdout or "[]")
        except json.JSONDecodeError as exc:
            raise CharthouseError(
                f"kube-score {scenario.path}: unreadable output: {result.stderr[-500:]}"
            ) from exc
        for obj in objects:
            kind = str((obj.get("type_meta") or {}).get("kind", ""))
            name = str((obj.get("object_meta") or {}).get("name", ""))
            for check in obj.get("checks") or []:
                if check.get("skipped") or int(check.get("grade", OK_GRADE)) >= OK_GRADE:
                    continue
                comments = check.get("comments") or [{}]
                summaries = sorted({str(c.get("summary") or "") for c in comments})
                for summary in summaries:
                    findings.append(
                        Finding(
                            judge=NAME,
                            check=str(check["check"]["id"]),
                            message=summary,
                            chart=scenario.chart,
                            scenario=scenario.scenario,
                            object=f"{kind}/{name}",
                            hook=scenario.hook_of(kind, name),
                        )
                    )
    return findings
