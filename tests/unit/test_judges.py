"""`charthouse judge`: each pinned judge really flags what it exists to flag (run on
manifests written to be wrong), findings map back to chart, scenario and object,
and the policy file rejects only what a rule names, failing on stale rules and on
mistakes in the file itself."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from charthouse import tools
from charthouse.errors import CharthouseError
from charthouse.judges import (
    actionlint,
    artifacthub,
    checkov,
    kubeconform,
    kubescore,
    pluto,
    policy,
)
from charthouse.judges.model import Finding, Inputs, RenderedScenario
from charthouse.manifests import Manifests

BAD = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: bad
  namespace: default
spec:
  replicas: 1
  selector:
    matchLabels: {app: bad}
  template:
    metadata:
      labels: {app: bad}
    spec:
      containers:
        - name: web
          image: nginx:latest
          securityContext:
            privileged: true
          imagePullPolicy: Always
          portz: []
---
apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata:
  name: bad
  namespace: default
spec:
  minAvailable: 1
  selector:
    matchLabels: {app: bad}
"""


def inputs_for(tmp_path: Path, text: str = BAD) -> Inputs:
    path = tmp_path / "manifests" / "demo" / "broken.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    scenario = RenderedScenario("demo", "broken", path, Manifests.parse(text))
    return Inputs(tmp_path, [scenario], [], tmp_path, [], "1.37.0")


def run_judge(judge: ModuleType, inputs: Inputs) -> list[Finding]:
    findings: list[Finding] = judge.run(tools.ensure_tool(judge.TOOL), inputs)
    return findings


def test_kubeconform_rejects_an_unknown_field_and_a_removed_api(tmp_path: Path) -> None:
    findings = run_judge(kubeconform, inputs_for(tmp_path))
    by_object = {f.object: f for f in findings}
    assert "portz" in by_object["Deployment/bad"].message
    assert by_object["Deployment/bad"].chart == "demo"
    assert by_object["Deployment/bad"].scenario == "broken"
    # policy/v1beta1 is gone from 1.37's schemas: no schema is a finding, not a skip
    assert "PodDisruptionBudget/bad" in by_object


def test_pluto_names_the_removed_api_and_its_replacement(tmp_path: Path) -> None:
    (finding,) = run_judge(pluto, inputs_for(tmp_path))
    assert finding.check == "removed" and finding.object == "PodDisruptionBudget/bad"
    assert "policy/v1beta1" in finding.message and "use policy/v1" in finding.message


def test_kube_score_flags_a_container_without_resources(tmp_path: Path) -> None:
    findings = run_judge(kubescore, inputs_for(tmp_path))
    checks = {(f.check, f.object) for f in findings}
    assert ("container-resources", "Deployment/bad") in checks
    assert ("container-image-tag", "Deployment/bad") in checks


def test_checkov_flags_a_privileged_container(tmp_path: Path) -> None:
    findings = run_judge(checkov, inputs_for(tmp_path))
    checks = {(f.check, f.object, f.chart, f.scenario) for f in findings}
    assert ("CKV_K8S_16", "Deployment/bad", "demo", "broken") in checks  # privileged


def test_ah_lint_flags_a_chart_without_maintainers(tmp_path: Path) -> None:
    chart = tmp_path / "charts" / "lonely"
    chart.mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: lonely\nversion: 0.1.0\n")
    inputs = Inputs(tmp_path, [], [chart], tmp_path / "charts", [], "1.37.0")
    findings = run_judge(artifacthub, inputs)
    assert Finding("ah lint", "maintainers", "Maintainers not provided", chart="lonely") in findings


def test_actionlint_flags_a_broken_workflow(tmp_path: Path) -> None:
    workflow = tmp_path / "ci.yaml"
    workflow.write_text(
        "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo ${{ github.evnt.name }}\n"
    )
    inputs = Inputs(tmp_path, [], [], tmp_path, [workflow], "1.37.0")
    findings = run_judge(actionlint, inputs)
    assert findings and findings[0].where.startswith("ci.yaml:")
    assert "evnt" in findings[0].message


def rules_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "judges.yaml"
    path.write_text(body)
    return path


def test_a_rule_rejects_only_what_it_names(tmp_path: Path) -> None:
    rules = policy.load(
        rules_file(
            tmp_path,
            "rejected:\n"
            "  - judge: kube-score\n    check: container-resources\n"
            "    objects: ['Deployment/*']\n    scenarios: [broken]\n    reason: because\n"
            "  - judge: checkov\n    check: CKV_K8S_1\n    reason: matches nothing\n",
        )
    )
    covered = Finding("kube-score", "container-resources", "m", "demo", "broken", "Deployment/x")
    other_scenario = Finding("kube-score", "container-resources", "m", "demo", "ok", "Deployment/x")
    other_check = Finding("kube-score", "pod-networkpolicy", "m", "demo", "broken", "Deployment/x")
    verdict = policy.judge(
        [covered, other_scenario, other_check], rules, judges_run=["kube-score", "checkov"]
    )
    assert verdict.rejected[0] == [covered]
    assert verdict.open == [other_scenario, other_check]
    assert [r.index for r in verdict.stale] == [1]
    # a rule for a judge that did not run is not stale
    assert policy.judge([], rules[1:], judges_run=["kube-score"]).stale == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("rejected:\n  - judge: kube-score\n    check: x\n", "rejected[0].reason"),
        ("rejected:\n  - {judge: kube-score, check: x, reason: y, scope: z}\n", "scope"),
        ("rejected:\n  - {judge: nobody, check: x, reason: y}\n", "rejected[0].judge"),
        ("rejected: {}\n", "rejected"),
    ],
)
def test_mistakes_in_the_policy_file_name_the_file_and_field(
    tmp_path: Path, body: str, field: str
) -> None:
    path = rules_file(tmp_path, body)
    with pytest.raises(CharthouseError) as error:
        policy.load(path, judges=["kube-score", "checkov"])
    assert str(path) in str(error.value) and field in str(error.value)


def test_every_rule_of_the_real_policy_has_a_reason_and_a_known_judge() -> None:
    from charthouse.judges.run import names

    rules = policy.load(judges=names())
    assert rules and all(len(r.reason) > 20 for r in rules)
