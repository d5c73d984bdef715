"""Bad input gets one clear line naming the problem and its exit code, no traceback;
the README's exit-code table is the one in the code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from charthouse import paths
from charthouse.errors import ExitCode

APP = str(paths.CHARTS_DIR / "app")


def charthouse(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "charthouse", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
        check=False,
    )


def assert_clean_error(
    result: subprocess.CompletedProcess[str],
    *needles: str,
    code: ExitCode = ExitCode.BAD_INPUT,
) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("charthouse: "), result.stderr
    for needle in needles:
        assert needle in result.stderr, f"{needle!r} not in {result.stderr!r}"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_unknown_chart_path() -> None:
    assert_clean_error(charthouse("render", "/no/such/chart"), "/no/such/chart", "not a chart")


def test_malformed_values_yaml_names_file_and_line(tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.yaml", "image:\n  tag: [unclosed\n")
    assert_clean_error(charthouse("render", APP, "-f", str(bad)), str(bad), "invalid YAML", "line")


def test_missing_values_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    assert_clean_error(charthouse("render", APP, "-f", str(missing)), str(missing), "not found")


def test_typo_key_names_file_and_field(tmp_path: Path) -> None:
    typo = write(tmp_path, "typo.yaml", "image:\n  tagg: '1.0'\n")
    assert_clean_error(charthouse("render", APP, "-f", str(typo)), str(typo), "image.tagg")


def test_wrong_type_names_file_and_field(tmp_path: Path) -> None:
    wrong = write(tmp_path, "wrong.yaml", "replicaCount: three\n")
    assert_clean_error(charthouse("render", APP, "-f", str(wrong)), str(wrong), "replicaCount")


def test_latest_tag_names_file_and_field(tmp_path: Path) -> None:
    latest = write(tmp_path, "latest.yaml", "image:\n  tag: latest\n")
    assert_clean_error(charthouse("render", APP, "-f", str(latest)), str(latest), "image.tag")


def test_validate_fails_on_bad_values_file(tmp_path: Path) -> None:
    typo = write(tmp_path, "typo.yaml", "image:\n  tagg: '1.0'\n")
    result = charthouse("validate", APP, "-f", str(typo), "--kube-version", "1.37", "--helm", "4")
    assert result.returncode == ExitCode.CHECK_FAILED
    assert str(typo) in result.stderr and "image.tagg" in result.stderr
    assert "FAIL" in result.stdout


def test_bad_set_expression() -> None:
    assert_clean_error(charthouse("render", APP, "--set", "image.tag"), "--set image.tag")


def test_bad_kube_version() -> None:
    assert_clean_error(charthouse("render", APP, "--kube-version", "banana"), "--kube-version")


def test_unknown_helm_major_is_a_usage_error() -> None:
    result = charthouse("render", APP, "--helm", "5")
    assert result.returncode == ExitCode.BAD_INPUT and "Traceback" not in result.stderr


@pytest.mark.parametrize("tool", ["helm3", "ct"])
def test_missing_go_names_go_and_how_to_get_it(tmp_path: Path, tool: str) -> None:
    """A fresh machine without Go (and without the tool on PATH) is told what to do."""
    env = {
        "CHARTHOUSE_HOME": str(tmp_path / "home"),
        "CHARTHOUSE_IGNORE_PATH_TOOLS": "1",
        "PATH": str(Path(sys.executable).parent),
    }
    result = charthouse("tools", "path", tool, env=env)
    assert_clean_error(result, "go: not found", "install Go", code=ExitCode.TOOL_FAILED)


def test_the_readme_lists_every_exit_code_with_its_meaning() -> None:
    readme = (paths.REPO_ROOT / "README.md").read_text()
    table = readme[readme.index("| exit code |") :].split("\n\n", 1)[0]
    rows = [line.split("|")[1:3] for line in table.splitlines()[2:]]
    listed = {int(code.strip()): name.strip().strip("`") for code, name in rows}
    assert listed == {int(code): code.name for code in ExitCode}
