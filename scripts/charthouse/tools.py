"""Pinned external tools (helm 3/4, ct, cluster components), built from Go modules.

Nothing is downloaded from release pages: each tool in ``ci/tools.yaml`` is built
with the local Go toolchain from the Go module proxy, once per version, into
``$CHARTHOUSE_HOME/tools/<name>-<version>/`` (``<name>-<version>-<digest>/`` for a
pin built in a tools module of ``ci/gomod``: the digest of that directory). A
binary the user already has on PATH is used instead when its version matches
the pin's ``accept`` pattern.

The fast path (tool already there) does no subprocess work at all, so a warm
``make setup`` costs milliseconds per tool.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from charthouse import hostpkgs, paths
from charthouse.digest import tree_digest
from charthouse.errors import CharthouseError, ToolError
from charthouse.locks import file_lock
from charthouse.pins import read as read_pin_file
from charthouse.proc import run

_GO_HINT = "install Go >= {go} (https://go.dev/dl/ or your package manager) and put `go` on PATH"


@dataclass(frozen=True)
class ToolPin:
    """One entry of ``ci/tools.yaml``."""

    name: str
    package: str
    version: str
    ldflags: str = ""
    gomod: Path | None = None
    binary: str = ""
    on_path: tuple[str, ...] = ()
    version_args: tuple[str, ...] = ("version",)
    accept: str = ""
    env: Mapping[str, str] = field(default_factory=dict)
    optional: bool = False
    tags: tuple[str, ...] = ()
    host_packages: tuple[str, ...] = ()
    module: str = ""
    in_module: bool = False
    pypi: str = ""
    revision: int = 0

    @property
    def binary_name(self) -> str:
        return self.binary or self.package.rstrip("/").rsplit("/", 1)[-1]

    @cached_property
    def identity(self) -> str:
        """What a cached build is a build of: the version, plus for a tools-module
        pin a digest of that module's directory, since editing its main.go or go.mod
        changes the binary without changing the version. Reading a few small files
        keeps the warm path free of subprocesses; worktrees with different module
        contents each keep their own build. A ``revision`` of the pin (a changed
        recipe, e.g. ldflags, at the same version) is part of it too."""
        version = f"{self.version}-r{self.revision}" if self.revision else self.version
        if self.gomod is None:
            return version
        return f"{version}-{tree_digest(self.gomod)[:12]}"

    @property
    def install_dir(self) -> Path:
        return paths.CACHE_HOME / "tools" / f"{self.name}-{self.identity}"

    @property
    def built_path(self) -> Path:
        if self.pypi:  # a launcher written last, so it exists only for a complete install
            return self.install_dir / "bin" / self.binary_name
        return self.install_dir / self.binary_name

    @property
    def found_marker(self) -> Path:
        """Records the PATH binary accepted for this pin, so we probe PATH only once."""
        return paths.CACHE_HOME / "tools" / f"{self.name}-{self.identity}.onpath"


@dataclass(frozen=True)
class Pins:
    go: str
    tools: Mapping[str, ToolPin]
    aliases: Mapping[str, str]


def _field(entry: Mapping[str, Any], key: str, where: str, kind: type) -> Any:
    value = entry.get(key)
    if not isinstance(value, kind):
        raise CharthouseError(f"{where}.{key}: expected {kind.__name__}, got {value!r}")
    return value


def _strings(entry: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise CharthouseError(f"{where}.{key}: expected a list of strings, got {value!r}")
    return tuple(value)


def load_pins(path: Path | None = None) -> Pins:
    """Parse the pin file, naming the file and the field on any mistake."""
    pin_file = path or paths.TOOLS_FILE
    data = read_pin_file(pin_file)
    if not isinstance(data.get("tools"), dict):
        raise CharthouseError(f"{pin_file}: tools: expected a mapping of tool name to pin")
    tools: dict[str, ToolPin] = {}
    for name, entry in data["tools"].items():
        where = f"{pin_file}: tools.{name}"
        if not isinstance(entry, dict):
            raise CharthouseError(f"{where}: expected a mapping")
        gomod = entry.get("gomod")
        pypi = str(entry.get("pypi", ""))
        tools[name] = ToolPin(
            name=name,
            package=pypi or _field(entry, "package", where, str),
            version=_field(entry, "version", where, str),
            ldflags=" ".join(str(entry.get("ldflags", "")).split()),
            gomod=(paths.REPO_ROOT / gomod) if gomod else None,
            binary=str(entry.get("binary", "")),
            on_path=tuple(entry.get("onPath", ())),
            version_args=tuple(entry.get("versionArgs", ("version",))),
            accept=str(entry.get("accept", "")),
            env={str(k): str(v) for k, v in (entry.get("env") or {}).items()},
            optional=bool(entry.get("optional", False)),
            tags=_strings(entry, "tags", where),
            host_packages=_strings(entry, "hostPackages", where),
            module=str(entry.get("module", "")),
            in_module=bool(entry.get("inModule", False)),
            pypi=pypi,
            revision=_revision(entry, where),
        )
        _check_in_module(tools[name], where)
    aliases = {str(k): str(v) for k, v in (data.get("aliases") or {}).items()}
    for alias, target in aliases.items():
        if target not in tools:
            raise CharthouseError(f"{pin_file}: aliases.{alias}: unknown tool {target!r}")
    return Pins(go=str(data.get("go", "1.26")), tools=tools, aliases=aliases)


def _check_in_module(tool: ToolPin, where: str) -> None:
    if not tool.in_module:
        return
    if not tool.module or not (
        tool.package == tool.module or tool.package.startswith(tool.module + "/")
    ):
        raise CharthouseError(
            f"{where}.module: inModule needs the module path of package {tool.package!r}, "
            f"got {tool.module!r}"
        )
    if tool.gomod is not None:
        raise CharthouseError(f"{where}: inModule and gomod exclude each other")


def _revision(entry: Mapping[str, Any], where: str) -> int:
    value = entry.get("revision", 0)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise CharthouseError(f"{where}.revision: expected a non-negative integer, got {value!r}")
    return value


def pin(name: str) -> ToolPin:
    pins = load_pins()
    if name not in pins.tools:
        known = ", ".join(sorted(pins.tools))
        raise CharthouseError(f"{paths.TOOLS_FILE}: no tool named {name!r} (known: {known})")
    return pins.tools[name]


def _cached(tool: ToolPin) -> Path | None:
    if tool.built_path.is_file():
        return tool.built_path
    if tool.found_marker.is_file():
        found = Path(tool.found_marker.read_text().strip())
        # A marker naming our own link (older releases wrote such) would make the
        # link point at itself once the build it pointed at moves.
        if found.is_file() and found.parent.resolve() != paths.BIN_DIR.resolve():
            return found
    return None


def _from_path(tool: ToolPin) -> Path | None:
    """A user's own binary, when its version fits the pin (the laptop case)."""
    if not tool.accept or os.environ.get("CHARTHOUSE_IGNORE_PATH_TOOLS"):
        return None
    bin_dir = paths.BIN_DIR.resolve()
    for candidate in tool.on_path:
        found = shutil.which(candidate)
        # our own link in BIN_DIR (on PATH under make) is not a user's binary
        if not found or Path(found).absolute().parent.resolve() == bin_dir:
            continue
        result = run([found, *tool.version_args], check=False, timeout=20)
        if result.returncode == 0 and re.search(tool.accept, result.stdout + result.stderr):
            return Path(found)
    return None


def _go_binary(required: str) -> str:
    go = shutil.which("go")
    if go is None:
        raise ToolError("go: not found on PATH; " + _GO_HINT.format(go=required))
    out = run([go, "env", "GOVERSION"], timeout=30).stdout.strip()
    match = re.match(r"go(\d+)\.(\d+)", out)
    have = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    need = tuple(int(part) for part in required.split(".")[:2])
    if have < need:
        raise ToolError(f"go: found {out}, need >= {required}; " + _GO_HINT.format(go=required))
    return go


def _explain_go_failure(tool: ToolPin, message: str) -> str:
    """Turn a Go build failure into the likely cause the user can act on."""
    network = ("proxy.golang.org", "dial tcp", "no such host", "i/o timeout", "403 Forbidden")
    if any(marker in message for marker in network):
        proxy = os.environ.get("GOPROXY", "https://proxy.golang.org,direct")
        return (
            f"{tool.name}: could not download {tool.package}@{tool.version} from the Go module "
            f"proxy (GOPROXY={proxy}); check network access to the proxy or set GOPROXY.\n"
            f"{message}"
        )
    return f"{tool.name}: building {tool.package}@{tool.version} failed:\n{message}"


BUILD_RECORD = ".build-seconds"


def build_seconds(tool: ToolPin) -> float | None:
    """Seconds the cached build of ``tool`` took (None: not built here, or built before
    builds were timed)."""
    try:
        return float((tool.install_dir / BUILD_RECORD).read_text())
    except (OSError, ValueError):
        return None


def _module_copy(tool: ToolPin, go: str, staging: Path, env: Mapping[str, str]) -> Path:
    """A writable copy of the downloaded module, for modules whose go.mod has
    ``replace`` directives: ``go install pkg@version`` refuses those, while
    ``go build`` inside the module honours them (the module cache is read-only)."""
    result = run(
        [go, "mod", "download", "-json", f"{tool.module}@{tool.version}"], env=env, timeout=1800
    )
    source = Path(json.loads(result.stdout)["Dir"])
    copy = staging / "src"
    shutil.copytree(source, copy, symlinks=True)
    for path in [copy, *copy.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    return copy


def _install_pypi(tool: ToolPin) -> Path:
    """A Python tool in a venv of its own (its dependency pins never meet ours),
    at ``<install_dir>/venv``. Scripts in a venv record its path, so it is built in
    place; the launcher ``<install_dir>/bin/<binary>`` is written last, atomically,
    and its presence is what marks the install complete."""
    venv = tool.install_dir / "venv"
    shutil.rmtree(tool.install_dir, ignore_errors=True)
    try:
        run([sys.executable, "-m", "venv", venv], timeout=600)
        pip: list[str | Path] = [
            venv / "bin" / "python",
            "-m",
            "pip",
            "--disable-pip-version-check",
        ]
        run([*pip, "install", "--quiet", f"{tool.pypi}=={tool.version}"], timeout=3600)
    except CharthouseError as exc:
        shutil.rmtree(tool.install_dir, ignore_errors=True)
        raise CharthouseError(
            f"{tool.name}: pip install {tool.pypi}=={tool.version} failed:\n{exc}"
        ) from exc
    script = venv / "bin" / tool.binary_name
    if not script.is_file():
        shutil.rmtree(tool.install_dir, ignore_errors=True)
        raise CharthouseError(f"{tool.name}: {tool.pypi} installed no {tool.binary_name} script")
    launcher = tool.built_path
    launcher.parent.mkdir(parents=True, exist_ok=True)
    tmp = launcher.with_name(f".{launcher.name}.{os.getpid()}")
    tmp.write_text(f'#!/bin/sh\nexec "{script}" "$@"\n')
    tmp.chmod(0o755)
    tmp.replace(launcher)
    return launcher


def _build(tool: ToolPin, go: str) -> Path:
    started = time.monotonic()
    staging = tool.install_dir.with_name(f".{tool.install_dir.name}.build-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    ldflags = "-s -w " + tool.ldflags.replace("{version}", tool.version)
    env = {"CGO_ENABLED": "0", "GOTOOLCHAIN": os.environ.get("GOTOOLCHAIN", "local"), **tool.env}
    tags = ["-tags", ",".join(tool.tags)] if tool.tags else []
    go_build = [go, "build", "-trimpath", *tags, "-ldflags", ldflags.strip()]
    go_build += ["-o", str(staging / tool.binary_name)]
    if tool.in_module:
        cmd = [*go_build, "./" + tool.package[len(tool.module) :].lstrip("/")]
        cwd: Path | None = None  # the module copy, made below
    elif tool.gomod is not None:
        cmd = [*go_build, tool.package]
        cwd = tool.gomod
    else:
        env["GOBIN"] = str(staging)
        cmd = [
            go,
            "install",
            "-trimpath",
            *tags,
            "-ldflags",
            ldflags.strip(),
            f"{tool.package}@{tool.version}",
        ]
        cwd = None
    try:
        if tool.in_module:
            cwd = _module_copy(tool, go, staging, env)
        run(cmd, cwd=cwd, env=env, timeout=3600)
        if tool.in_module:
            shutil.rmtree(staging / "src")
    except CharthouseError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise ToolError(_explain_go_failure(tool, str(exc))) from exc
    produced = staging / tool.binary_name
    if not produced.is_file():
        shutil.rmtree(staging, ignore_errors=True)
        raise ToolError(f"{tool.name}: build produced no {tool.binary_name} binary")
    # How long the cold build took, for `make bench` to report what a fresh machine pays.
    (staging / BUILD_RECORD).write_text(f"{time.monotonic() - started:.1f}\n")
    shutil.rmtree(tool.install_dir, ignore_errors=True)
    staging.rename(tool.install_dir)  # atomic: a half-built tool is never visible
    return tool.built_path


def _link(name: str, target: Path) -> None:
    paths.BIN_DIR.mkdir(parents=True, exist_ok=True)
    link = paths.BIN_DIR / name
    if link.is_symlink() and link.readlink() == target:
        return
    tmp = link.with_name(f".{name}.{os.getpid()}")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target)
    tmp.replace(link)


def _ensure(tool: ToolPin, go_required: str, report: _Reporter | None) -> Path:
    found = _cached(tool)
    if found is not None:
        return found
    # one build per tool at a time across processes (pytest workers, parallel makes)
    with file_lock(paths.CACHE_HOME / "tools" / f".{tool.name}.lock"):
        found = _cached(tool)
        if found is not None:
            return found
        on_path = _from_path(tool)
        if on_path is not None:
            tool.found_marker.parent.mkdir(parents=True, exist_ok=True)
            tool.found_marker.write_text(f"{on_path}\n")
            return on_path
        for group in tool.host_packages:
            hostpkgs.ensure(group)
        if tool.pypi:
            if report is None:
                return _install_pypi(tool)
            with report.building(tool):
                return _install_pypi(tool)
        go = _go_binary(go_required)
        if report is None:
            return _build(tool, go)
        with report.building(tool):
            return _build(tool, go)


def ensure_tool(name: str) -> Path:
    """Path of the pinned tool ``name``, building it first if needed."""
    pins = load_pins()
    target = pins.aliases.get(name, name)
    if target not in pins.tools:
        raise CharthouseError(f"{paths.TOOLS_FILE}: no tool named {name!r}")
    path = _ensure(pins.tools[target], pins.go, _Reporter(stream_is_tty=False))
    _link(target, path)
    return path


class _Reporter:
    """Progress for cold builds, which take minutes: a live timer on a terminal,
    a heartbeat line every 30 s in CI logs."""

    def __init__(self, *, stream_is_tty: bool) -> None:
        self.tty = stream_is_tty

    @contextmanager
    def building(self, tool: ToolPin) -> Iterator[None]:
        started = time.monotonic()
        label = f"building {tool.name} {tool.version} from {tool.package}"
        if self.tty:
            from rich.console import Console

            console = Console(stderr=True)
            with console.status(f"{label} (Go build, can take minutes)"):
                yield
            console.print(
                f"[green]built[/] {tool.name} {tool.version} in {time.monotonic() - started:.0f}s"
            )
            return
        print(f"charthouse: {label} ...", file=sys.stderr, flush=True)
        stop = threading.Event()

        def heartbeat() -> None:
            while not stop.wait(30):
                print(
                    f"charthouse:   still building {tool.name} ({time.monotonic() - started:.0f}s)",
                    file=sys.stderr,
                    flush=True,
                )

        thread = threading.Thread(target=heartbeat, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
        print(
            f"charthouse: built {tool.name} {tool.version} in {time.monotonic() - started:.0f}s",
            file=sys.stderr,
            flush=True,
        )


def install(names: Sequence[str] = ()) -> dict[str, Path]:
    """Ensure every named tool (default: all pins) and link them into BIN_DIR."""
    pins = load_pins()
    wanted = list(names) or [name for name, tool in pins.tools.items() if not tool.optional]
    reporter = _Reporter(stream_is_tty=sys.stderr.isatty())
    result: dict[str, Path] = {}
    for name in wanted:
        target = pins.aliases.get(name, name)
        if target not in pins.tools:
            raise CharthouseError(f"{paths.TOOLS_FILE}: no tool named {name!r}")
        result[target] = _ensure(pins.tools[target], pins.go, reporter)
        _link(target, result[target])
    for alias, target in pins.aliases.items():
        if target in result:
            _link(alias, result[target])
    return result
