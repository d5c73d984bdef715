"""Build dependencies, run ``helm package``, and make the archive reproducible.

``helm package`` stamps file modification times (and, for a fresh Chart.lock, the
time of ``helm dependency build``) into the archive, so packaging the same chart
twice gives two digests, and a re-run release would look like a changed chart.
We therefore re-pack helm's archive canonically: the same members in helm's order,
fixed mtime/uid/gid/owner names/modes, GNU tar headers, gzip header time 0. The
result is then loaded back with ``helm show chart`` to prove helm still reads it.

Packaging happens in a private copy of the charts directory, so the user's checkout
never gets built ``charts/*.tgz`` or rewritten lock files from a release.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import tarfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from charthouse import yamlfile
from charthouse.chartset import ChartSet
from charthouse.errors import CharthouseError
from charthouse.proc import run
from charthouse.yamlfile import read_mapping

#: Default timestamp for every member: 1980-01-01, the reproducible-builds convention
#: (zip and wheels cannot go lower). ``SOURCE_DATE_EPOCH`` overrides it.
DEFAULT_EPOCH = 315532800


def source_date_epoch() -> int:
    value = os.environ.get("SOURCE_DATE_EPOCH", "")
    if not value:
        return DEFAULT_EPOCH
    try:
        return int(value)
    except ValueError as exc:
        raise CharthouseError(f"SOURCE_DATE_EPOCH: expected an integer, got {value!r}") from exc


def helm_env(home: Path) -> dict[str, str]:
    """Keep helm's cache/config/data in ``home``: a release must not read ~/.config/helm."""
    return {
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
    }


def normalize_archive(data: bytes, *, epoch: int | None = None) -> bytes:
    """Re-pack a gzip'd tar canonically; the same members give the same bytes."""
    stamp = source_date_epoch() if epoch is None else epoch
    out = io.BytesIO()
    try:
        with (
            tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as source,
            gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz,
            tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as target,
        ):
            for member in source:
                if not (member.isfile() or member.isdir()):
                    raise CharthouseError(
                        f"chart archive member {member.name!r}: links and devices are not allowed"
                    )
                clean = tarfile.TarInfo(member.name)
                clean.type = member.type
                clean.mtime = stamp
                clean.uid = clean.gid = 0
                clean.uname = clean.gname = ""
                clean.mode = 0o755 if member.isdir() else 0o644
                if member.isfile():
                    clean.size = member.size
                    target.addfile(clean, source.extractfile(member))
                else:
                    target.addfile(clean)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise CharthouseError(f"cannot re-pack chart archive: {exc}") from exc
    return out.getvalue()


def _set_tree_mtime(root: Path, stamp: int) -> None:
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            os.utime(Path(dirpath) / name, (stamp, stamp), follow_symlinks=False)


def prepare_workspace(charts_dir: Path, workspace: Path) -> Path:
    """Copy the charts directory (without built dependency archives) into ``workspace``."""

    def ignore(directory: str, names: list[str]) -> set[str]:
        if Path(directory).name == "charts" and Path(directory).parent != charts_dir.parent:
            return {n for n in names if n.endswith(".tgz")}
        return set()

    copy = workspace / "charts"
    shutil.copytree(charts_dir, copy, ignore=ignore, symlinks=False)
    _set_tree_mtime(copy, source_date_epoch())
    return copy


def _pin_lock_time(chart_dir: Path, had_lock: bool) -> None:
    """A lock file helm just generated carries 'now'; pin it so the archive stays stable."""
    lock = chart_dir / "Chart.lock"
    if had_lock or not lock.is_file():
        return
    data = read_mapping(lock)
    data["generated"] = "1980-01-01T00:00:00Z"
    lock.write_text(yaml.safe_dump(data, sort_keys=True))


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    path: Path
    digest: str


def build_dependencies(helm: Path, chart_dir: Path, env: Mapping[str, str]) -> None:
    meta = read_mapping(chart_dir / "Chart.yaml")
    if not meta.get("dependencies"):
        return
    had_lock = (chart_dir / "Chart.lock").is_file()
    run([helm, "dependency", "build", "--skip-refresh", chart_dir], env=env, timeout=300)
    _pin_lock_time(chart_dir, had_lock)


def package_chart(
    helm: Path,
    chart_dir: Path,
    out_dir: Path,
    env: Mapping[str, str],
    *,
    version: str | None = None,
) -> Package:
    """``helm package`` then canonical re-pack; returns the reproducible archive."""
    raw_dir = out_dir / ".raw"
    raw_dir.mkdir(parents=True, exist_ok=True)
    cmd: list[str | Path] = [helm, "package", chart_dir, "--destination", raw_dir]
    if version is not None:
        cmd += ["--version", version]
    run(cmd, env=env, timeout=300)
    produced = sorted(raw_dir.glob("*.tgz"))
    if len(produced) != 1:
        raise CharthouseError(f"helm package {chart_dir}: expected one archive, got {produced}")
    raw = produced[0]
    data = normalize_archive(raw.read_bytes())
    raw.unlink()
    final = out_dir / raw.name
    final.write_bytes(data)
    shown = run([helm, "show", "chart", final], env=env, timeout=60).stdout
    loaded = yamlfile.parse(shown, f"helm show chart {final}") or {}
    name, ver = str(loaded.get("name")), str(loaded.get("version"))
    if f"{name}-{ver}.tgz" != final.name:
        raise CharthouseError(f"{final}: helm reads it back as {name} {ver}")
    return Package(name=name, version=ver, path=final, digest=hashlib.sha256(data).hexdigest())


def package_all(
    helm: Path,
    charts: ChartSet,
    wanted: Mapping[str, str],
    charts_dir: Path,
    workspace: Path,
    out_dir: Path,
    *,
    before_package: Callable[[str, Path], None] | None = None,
) -> dict[str, Package]:
    """Package ``wanted`` (name -> version) in dependency order from a private copy.

    Every chart ``wanted`` needs has its dependencies built first, because a chart's
    archive embeds the built archives of its ``file://`` dependencies.
    """
    env = helm_env(workspace / "helm")
    copy = prepare_workspace(charts_dir, workspace)
    out_dir.mkdir(parents=True, exist_ok=True)
    packages: dict[str, Package] = {}
    needed = charts.closure(wanted)
    for name in charts.order():
        if name not in needed:
            continue
        chart_copy = copy / charts[name].path.relative_to(charts_dir)
        build_dependencies(helm, chart_copy, env)
        if name in wanted:
            if before_package is not None:
                before_package(name, chart_copy)
            declared = charts[name].version
            override = wanted[name] if wanted[name] != declared else None
            packages[name] = package_chart(helm, chart_copy, out_dir, env, version=override)
    shutil.rmtree(out_dir / ".raw", ignore_errors=True)
    return packages
