"""The CI definitions validate against their published JSON schemas (bundled with
check-jsonschema, so this runs offline) and keep the properties the release relies on."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from charthouse.paths import REPO_ROOT

CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
FILES = {
    ".github/workflows/deploy.yaml": "vendor.github-workflows",
    ".github/workflows/lint-test.yaml": "vendor.github-workflows",
    ".github/workflows/release.yaml": "vendor.github-workflows",
    ".gitlab-ci.yml": "vendor.gitlab-ci",
}


def check(path: Path, schema: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def load(relative: str) -> dict[Any, Any]:
    data = yaml.safe_load((REPO_ROOT / relative).read_text())
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize(("relative", "schema"), sorted(FILES.items()))
def test_ci_file_matches_its_schema(relative: str, schema: str) -> None:
    result = check(REPO_ROOT / relative, schema)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = load(".github/workflows/release.yaml")
    broken["jobs"]["release"]["runs-on"] = {"not": "a runner"}
    broken["jobs"]["release"]["timeout-minutes"] = "soon"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(broken))
    assert check(path, "vendor.github-workflows").returncode == 1


def steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def test_lint_test_workflow_has_full_history_a_ref_group_and_kind() -> None:
    workflow = load(".github/workflows/lint-test.yaml")
    assert "${{ github.ref }}" in workflow["concurrency"]["group"]
    checkouts = [s for s in steps(workflow) if s.get("uses", "").startswith("actions/checkout")]
    assert checkouts and all(s["with"]["fetch-depth"] == 0 for s in checkouts)
    assert any(s.get("uses", "").startswith("helm/kind-action@") for s in steps(workflow))
    runs = " ".join(s.get("run", "") for s in steps(workflow))
    for target in ("lint", "test-unit", "test-contract", "test-integration"):
        assert re.search(rf"\bmake (\S+ )*{target}\b", runs), target


def test_release_workflow_serialises_index_writes_and_signs_from_secrets() -> None:
    workflow = load(".github/workflows/release.yaml")
    assert workflow[True]["push"]["branches"] == ["main"]  # YAML 1.1 reads `on` as True
    assert workflow["concurrency"] == {"group": "release-index", "cancel-in-progress": False}
    release = next(s for s in steps(workflow) if "charthouse release" in s.get("run", ""))
    assert "--target gh-pages" in release["run"] and "--target oci" in release["run"]
    assert "oci://ghcr.io/" in release["run"] and "--sign" in release["run"]
    key_import = next(s for s in steps(workflow) if "gpg --batch --import" in s.get("run", ""))
    assert key_import["env"]["GPG_PRIVATE_KEY"].startswith("${{ secrets.")


def test_gitlab_pipeline_publishes_to_production_only_after_manual_approval() -> None:
    pipeline = load(".gitlab-ci.yml")
    assert pipeline["stages"] == ["test", "package", "publish", "deploy"]
    production = pipeline["publish:production"]
    assert production["stage"] == "publish"
    assert production["environment"]["name"] == "production"
    assert [rule.get("when") for rule in production["rules"]] == ["manual"]
    assert production["rules"][0]["allow_failure"] is False  # blocks the pipeline until approved


def test_example_rollouts_go_to_production_only_after_approval() -> None:
    workflow = load(".github/workflows/deploy.yaml")
    staging, production = workflow["jobs"]["staging"], workflow["jobs"]["production"]
    assert production["needs"] == "staging"
    assert production["environment"] == "production"  # required reviewers live there
    for job in (staging, production):
        assert job["concurrency"]["cancel-in-progress"] is False  # never stopped half-way
        run = " ".join(s.get("run", "") for s in job["steps"])
        assert "charthouse rollout start" in run and "--output json" in run
    pipeline = load(".gitlab-ci.yml")
    deploy = pipeline["deploy:production"]
    assert deploy["needs"] == ["deploy:staging"]
    assert [rule.get("when") for rule in deploy["rules"]] == ["manual"]
    assert deploy["rules"][0]["allow_failure"] is False
    assert "charthouse rollout start" in " ".join(pipeline[".rollout"]["script"])
