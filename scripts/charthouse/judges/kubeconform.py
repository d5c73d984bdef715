"""kubeconform ``-strict``: every rendered object against the Kubernetes schemas of
the target version, offline.

The schemas are the ones ``charthouse validate`` uses (the kubernetes-validate
bundle's strict variants, and the pinned CRDs made strict), written as standalone
files in kubeconform's layout for the kinds the charts render. kubeconform is a
second, independent validator (Go, santhosh-tekuri/jsonschema) over the same
schemas. A kind without a schema is itself a finding: nothing is skipped.
"""

from __future__ import annotations

import json
from pathlib import Path

from charthouse import crds, kubeschema
from charthouse.errors import CharthouseError
from charthouse.judges.model import Finding, Inputs
from charthouse.judges.toolrun import run_tool

NAME = "kubeconform"
TOOL = "kubeconform"
SCOPE = "manifests"
BUILTIN = (
    "{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/"
    "{{ .ResourceKind }}{{ .KindSuffix }}.json"
)
CUSTOM = "crds/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"


def write_schemas(inputs: Inputs, root: Path) -> None:
    """Standalone strict schemas for every (apiVersion, kind) rendered."""
    version = "v" + inputs.kube_version
    kinds = {
        (str(o.get("apiVersion")), str(o.get("kind")))
        for s in inputs.scenarios
        for o in s.objects()
    }
    for api_version, kind in sorted(kinds):
        schema = kubeschema.standalone_schema(inputs.kube_version, api_version, kind)
        if schema is not None:
            target = (
                root
                / f"{version}-standalone-strict"
                / kubeschema.schema_file_name(api_version, kind)
            )
        else:
            schema = crds.strict_schema(api_version, kind)
            if schema is None:
                continue  # kubeconform reports the missing schema
            group, _, api = api_version.rpartition("/")
            target = root / "crds" / group / f"{kind.lower()}_{api}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(schema))


def run(binary: Path, inputs: Inputs) -> list[Finding]:
    root = inputs.workdir / "kubeconform-schemas"
    write_schemas(inputs, root)
    result = run_tool(
        [
            binary,
            "-strict",
            "-output",
            "json",
            "-kubernetes-version",
            inputs.kube_version,
            "-schema-location",
            f"{root}/{BUILTIN}",
            "-schema-location",
            f"{root}/{CUSTOM}",
            *[s.path for s in inputs.scenarios],
        ]
    )
    try:
        report = json.loads(result.stdout or "{}")
    except json.JSONDecodeError as exc:
        raise CharthouseError(f"kubeconform: unreadable output: {result.stderr[-500:]}") from exc
    findings = []
    for resource in report.get("resources") or []:
        if resource.get("status") in ("statusValid", "statusSkipped"):
            continue
        scenario = inputs.scenario_at(resource.get("filename", ""))
        kind, name = str(resource.get("kind", "")), str(resource.get("name", ""))
        findings.append(
            Finding(
                judge=NAME,
                check=str(resource.get("status", "statusInvalid")).removeprefix("status").lower(),
                message=str(resource.get("msg", "")),
                chart=scenario.chart if scenario else "",
                scenario=scenario.scenario if scenario else "",
                object=f"{kind}/{name}",
                hook=scenario.hook_of(kind, name) if scenario else "",
            )
        )
    if result.returncode not in (0, 1):
        raise CharthouseError(f"kubeconform: exit {result.returncode}: {result.stderr[-500:]}")
    return findings
