"""The tool bootstrap: builds a pinned Go tool once, reuses it without running Go
again, and prefers a user's own binary when its version fits the pin."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

GO = shutil.which("go")
pytestmark = pytest.mark.skipif(GO is None, reason="needs Go to build the sample tool")


def charthouse(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "charthouse", "tools", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


@pytest.fixture
def sample(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A one-file Go tool pinned in its own tools.yaml, and a private tool cache."""
    module = tmp_path / "hello"
    module.mkdir()
    (module / "go.mod").write_text("module example.test/hello\n\ngo 1.21\n")
    (module / "main.go").write_text(
        'package main\n\nimport "fmt"\n\nvar version = "dev"\n\n'
        'func main() { fmt.Println("hello " + version) }\n'
    )
    pins = tmp_path / "tools.yaml"
    pins.write_text(
        "go: '1.21'\ntools:\n  hello:\n    package: example.test/hello\n    version: v1.2.3\n"
        f"    gomod: {module}\n    ldflags: -X main.version={{version}}\n"
        "    onPath: [hello]\n    versionArgs: []\n    accept: '^hello v1\\.2\\.'\n"
    )
    env = {
        **os.environ,
        "CHARTHOUSE_HOME": str(tmp_path / "home"),
        "CHARTHOUSE_TOOLS_FILE": str(pins),
    }
    return env, tmp_path


def test_builds_once_then_reuses_without_go(sample: tuple[dict[str, str], Path]) -> None:
    env, tmp_path = sample
    first = charthouse(env, "install")
    assert first.returncode == 0, first.stderr
    assert "building hello v1.2.3" in first.stderr
    built = tmp_path / "home" / "tools" / "hello-v1.2.3" / "hello"
    assert (
        subprocess.run([built], capture_output=True, text=True, check=True).stdout
        == "hello v1.2.3\n"
    )
    assert (tmp_path / "home" / "bin" / "hello").resolve() == built

    no_go = {**env, "PATH": str(Path(sys.executable).parent)}  # a second run must not need Go
    second = charthouse(no_go, "install")
    assert second.returncode == 0, second.stderr
    assert "building" not in second.stderr
    assert charthouse(no_go, "path", "hello").stdout.strip() == str(built)


def test_a_fitting_binary_on_path_is_used_instead_of_building(
    sample: tuple[dict[str, str], Path],
) -> None:
    env, tmp_path = sample
    user_bin = tmp_path / "user-bin"
    user_bin.mkdir()
    script = user_bin / "hello"
    script.write_text("#!/bin/sh\necho 'hello v1.2.9'\n")
    script.chmod(0o755)
    path_env = {**env, "PATH": f"{user_bin}:{Path(sys.executable).parent}"}  # no Go at all
    result = charthouse(path_env, "path", "hello")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(script)


def test_a_binary_of_another_version_is_not_used(sample: tuple[dict[str, str], Path]) -> None:
    env, tmp_path = sample
    user_bin = tmp_path / "user-bin"
    user_bin.mkdir()
    script = user_bin / "hello"
    script.write_text("#!/bin/sh\necho 'hello v0.9.0'\n")
    script.chmod(0o755)
    path_env = {**env, "PATH": f"{user_bin}:{Path(sys.executable).parent}"}
    result = charthouse(path_env, "path", "hello")
    assert result.returncode == 2
    assert "go: not found on PATH" in result.stderr
