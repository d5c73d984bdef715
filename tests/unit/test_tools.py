"""The tool bootstrap: builds a pinned Go tool once, reuses it without running Go
again, and prefers a user's own binary when its version fits the pin."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from charthouse import paths, tools
from charthouse.digest import tree_digest
from charthouse.errors import CharthouseError

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
    built = _built(tmp_path)
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


def _built(tmp_path: Path) -> Path:
    """Where the sample gomod pin's binary lands: named by version and module digest."""
    digest = tree_digest(tmp_path / "hello")[:12]
    return tmp_path / "home" / "tools" / f"hello-v1.2.3-{digest}" / "hello"


def test_editing_the_tools_module_is_a_new_build_and_the_old_one_stays(
    sample: tuple[dict[str, str], Path],
) -> None:
    """The version alone does not say what a tools module builds: its main.go
    (e.g. CoreDNS's plugin list) does. Two contents of one module (two worktrees)
    each keep their build, and switching back builds nothing."""
    env, tmp_path = sample
    assert charthouse(env, "install").returncode == 0
    first = _built(tmp_path)
    main = tmp_path / "hello" / "main.go"
    original = main.read_text()
    main.write_text(original.replace('"hello "', '"edited "'))
    edited = charthouse(env, "install")
    assert edited.returncode == 0, edited.stderr
    assert "building hello v1.2.3" in edited.stderr
    second = _built(tmp_path)
    assert second != first and first.is_file()
    out = subprocess.run([second], capture_output=True, text=True, check=True).stdout
    assert out == "edited v1.2.3\n"
    assert (tmp_path / "home" / "bin" / "hello").resolve() == second

    main.write_text(original)
    no_go = {**env, "PATH": str(Path(sys.executable).parent)}
    back = charthouse(no_go, "install")
    assert back.returncode == 0, back.stderr
    assert "building" not in back.stderr
    assert (tmp_path / "home" / "bin" / "hello").resolve() == first


def test_a_warm_gomod_pin_starts_no_subprocess(
    sample: tuple[dict[str, str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    env, tmp_path = sample
    assert charthouse(env, "install").returncode == 0
    monkeypatch.setattr(paths, "CACHE_HOME", tmp_path / "home")
    monkeypatch.setattr(paths, "BIN_DIR", tmp_path / "home" / "bin")
    monkeypatch.setattr(paths, "TOOLS_FILE", tmp_path / "tools.yaml")

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a warm ensure ran a subprocess: {args}")

    monkeypatch.setattr(subprocess, "run", refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)
    assert tools.ensure_tool("hello") == _built(tmp_path)


@pytest.mark.parametrize("via", ["marker", "PATH"])
def test_our_own_link_is_not_taken_for_a_user_binary(
    sample: tuple[dict[str, str], Path], via: str
) -> None:
    """$CHARTHOUSE_HOME/bin/<tool>, named by a PATH marker (older code wrote such)
    or found on PATH (make puts it there), is our link, not a user's binary: taking
    it made the link point at itself once the build it named moved."""
    env, tmp_path = sample
    assert charthouse(env, "install").returncode == 0
    home = tmp_path / "home"
    legacy = home / "tools" / "hello-v1.2.3"  # a build from before module digests
    shutil.copytree(_built(tmp_path).parent, legacy)
    shutil.rmtree(_built(tmp_path).parent)
    (home / "bin" / "hello").unlink()
    (home / "bin" / "hello").symlink_to(legacy / "hello")
    if via == "marker":
        (home / "tools" / "hello-v1.2.3.onpath").write_text(f"{home / 'bin' / 'hello'}\n")
    else:
        env = {**env, "PATH": f"{home / 'bin'}:{env['PATH']}"}
    result = charthouse(env, "install")
    assert result.returncode == 0, result.stderr
    assert "building hello v1.2.3" in result.stderr
    assert (home / "bin" / "hello").resolve() == _built(tmp_path)


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
    assert result.returncode == 3  # ExitCode.TOOL_FAILED: a program we need is missing
    assert "go: not found on PATH" in result.stderr


def _h1(files: dict[str, str]) -> str:
    """Go's go.sum hash (dirhash "h1") of files by name."""
    summary = "".join(
        f"{hashlib.sha256(files[name].encode()).hexdigest()}  {name}\n" for name in sorted(files)
    )
    return "h1:" + base64.b64encode(hashlib.sha256(summary.encode()).digest()).decode()


def _module_proxy(root: Path) -> Path:
    """A file:// Go module proxy serving example.test/tool v1.0.0, whose go.mod
    replaces its dependency example.test/dep (not served) with example.test/fork:
    `go install tool@v1.0.0` refuses such a module, a build inside it works."""
    tool_mod = (
        "module example.test/tool\n\ngo 1.21\n\nrequire example.test/dep v1.0.0\n\n"
        "replace example.test/dep v1.0.0 => example.test/fork v1.0.0\n"
    )
    modules = {
        "tool": (
            tool_mod,
            {
                "cmd/tool/main.go": (
                    'package main\n\nimport (\n\t"fmt"\n\n\t"example.test/dep"\n)\n\n'
                    'var version = "dev"\n\n'
                    'func main() { fmt.Println("tool " + version + " " + dep.Name) }\n'
                ),
            },
        ),
        "fork": (
            "module example.test/dep\n\ngo 1.21\n",
            {"dep.go": 'package dep\n\nconst Name = "fork"\n'},
        ),
    }
    fork_mod, fork_sources = modules["fork"]
    fork_files = {
        f"example.test/fork@v1.0.0/{k}": v for k, v in {"go.mod": fork_mod, **fork_sources}.items()
    }
    modules["tool"][1]["go.sum"] = (
        f"example.test/fork v1.0.0 {_h1(fork_files)}\n"
        f"example.test/fork v1.0.0/go.mod {_h1({'go.mod': fork_mod})}\n"
    )
    for name, (go_mod, sources) in modules.items():
        versions = root / "proxy" / "example.test" / name / "@v"
        versions.mkdir(parents=True)
        (versions / "list").write_text("v1.0.0\n")
        (versions / "v1.0.0.info").write_text('{"Version":"v1.0.0","Time":"2026-01-01T00:00:00Z"}')
        (versions / "v1.0.0.mod").write_text(go_mod)
        with zipfile.ZipFile(versions / "v1.0.0.zip", "w") as archive:
            for path, text in {"go.mod": go_mod, **sources}.items():
                archive.writestr(f"example.test/{name}@v1.0.0/{path}", text)
    return root / "proxy"


def test_an_in_module_pin_builds_inside_a_writable_copy_of_the_module(tmp_path: Path) -> None:
    proxy = _module_proxy(tmp_path)
    pins = tmp_path / "tools.yaml"
    pins.write_text(
        "go: '1.21'\ntools:\n  tool:\n    package: example.test/tool/cmd/tool\n"
        "    module: example.test/tool\n    version: v1.0.0\n    inModule: true\n"
        "    ldflags: -X main.version={version}\n"
    )
    env = {
        **os.environ,
        "CHARTHOUSE_HOME": str(tmp_path / "home"),
        "CHARTHOUSE_TOOLS_FILE": str(pins),
        "GOPROXY": f"file://{proxy}",
        "GOSUMDB": "off",
        "GOMODCACHE": str(tmp_path / "modcache"),
        "GOFLAGS": "-modcacherw",
    }
    result = charthouse(env, "install")
    assert result.returncode == 0, result.stderr
    built = tmp_path / "home" / "tools" / "tool-v1.0.0"
    out = subprocess.run([built / "tool"], capture_output=True, text=True, check=True).stdout
    assert out == "tool v1.0.0 fork\n"
    assert not (built / "src").exists(), "the module copy is removed"


def test_an_in_module_pin_needs_its_module_path(tmp_path: Path) -> None:
    pins = tmp_path / "tools.yaml"
    pins.write_text(
        "tools:\n  tool:\n    package: example.test/tool/cmd/tool\n"
        "    module: example.test/other\n    version: v1.0.0\n    inModule: true\n"
    )
    with pytest.raises(CharthouseError, match=r"tools\.tool\.module: inModule needs the module"):
        tools.load_pins(pins)


def test_a_new_revision_of_the_recipe_rebuilds_at_the_same_version(
    sample: tuple[dict[str, str], Path],
) -> None:
    """ldflags changed at the same version (as helm 3's Kubernetes version flags did):
    bumping `revision` builds afresh instead of reusing the old binary."""
    env, tmp_path = sample
    assert charthouse(env, "install").returncode == 0
    pins = tmp_path / "tools.yaml"
    pins.write_text(
        pins.read_text()
        .replace("-X main.version={version}", "-X main.version={version}-patched")
        .replace("    version: v1.2.3\n", "    version: v1.2.3\n    revision: 1\n")
    )
    rebuilt = charthouse(env, "install")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "building hello v1.2.3" in rebuilt.stderr
    (build,) = (tmp_path / "home" / "tools").glob("hello-v1.2.3-r1*/")  # + the module's digest
    binary = build / "hello"
    out = subprocess.run([binary], capture_output=True, text=True, check=True).stdout
    assert out == "hello v1.2.3-patched\n"
    assert (tmp_path / "home" / "bin" / "hello").resolve() == binary
