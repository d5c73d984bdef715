"""Host packages (iptables, buildah, ...) that Go modules and PyPI cannot provide.

They are listed once, by purpose, in ``ci/debian-packages.yaml``. On Debian or
Ubuntu as root the missing ones are installed with apt-get, so a fresh machine
needs nothing installed by hand; elsewhere the error names what to install.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from charthouse import paths
from charthouse.errors import CharthouseError
from charthouse.locks import file_lock
from charthouse.proc import run
from charthouse.yamlfile import read_mapping

PACKAGES_FILE: Path = paths.CI_DIR / "debian-packages.yaml"
_APT_ENV = {"DEBIAN_FRONTEND": "noninteractive"}


@dataclass(frozen=True)
class HostPackage:
    """One Debian package, why charthouse needs it and the commands that show it is there."""

    name: str
    why: str
    commands: tuple[str, ...]


def load_groups(path: Path = PACKAGES_FILE) -> Mapping[str, tuple[HostPackage, ...]]:
    """Parse the package file, naming the file and the field on any mistake."""
    groups = read_mapping(path, what="host package file").get("groups")
    if not isinstance(groups, dict):
        raise CharthouseError(f"{path}: groups: expected a mapping of group name to packages")
    result: dict[str, tuple[HostPackage, ...]] = {}
    for group, entries in groups.items():
        if not isinstance(entries, dict):
            raise CharthouseError(f"{path}: groups.{group}: expected a mapping of packages")
        packages = []
        for name, entry in entries.items():
            where = f"{path}: groups.{group}.{name}"
            if not isinstance(entry, dict) or not isinstance(entry.get("why"), str):
                raise CharthouseError(f"{where}.why: expected a string")
            commands = entry.get("commands", [])
            if not isinstance(commands, list) or not all(isinstance(c, str) for c in commands):
                raise CharthouseError(f"{where}.commands: expected a list of command names")
            packages.append(HostPackage(str(name), entry["why"], tuple(commands)))
        result[str(group)] = tuple(packages)
    return result


def _dpkg_installed(names: list[str]) -> set[str]:
    result = run(
        ["dpkg-query", "-W", "-f=${Package} ${db:Status-Status}\n", *names],
        check=False,
        timeout=60,
    )
    installed = set()
    for line in result.stdout.splitlines():
        package, _, status = line.partition(" ")
        if status.strip() == "installed":
            installed.add(package.split(":", 1)[0])
    return installed


def missing(group: str, path: Path = PACKAGES_FILE) -> list[HostPackage]:
    """Packages of ``group`` that are not installed (by dpkg, or by their commands)."""
    groups = load_groups(path)
    if group not in groups:
        raise CharthouseError(f"{path}: no group named {group!r} (known: {', '.join(groups)})")
    wanted = list(groups[group])
    if shutil.which("dpkg-query"):
        installed = _dpkg_installed([p.name for p in wanted])
        return [p for p in wanted if p.name not in installed]
    return [p for p in wanted if not all(shutil.which(c) for c in p.commands)]


def ensure(group: str, path: Path = PACKAGES_FILE) -> list[str]:
    """Install the missing packages of ``group``; return the names installed."""
    absent = missing(group, path)
    if not absent:
        return []
    names = [p.name for p in absent]
    reasons = "\n".join(f"  {p.name}: {p.why}" for p in absent)
    can_apt = shutil.which("apt-get") is not None and os.geteuid() == 0
    if not can_apt:
        command = f"sudo apt-get install -y {' '.join(names)}"
        raise CharthouseError(
            f"missing host packages ({path.name}, group {group}):\n{reasons}\n"
            f"install them (Debian/Ubuntu: `{command}`) and run again"
        )
    with file_lock(paths.CACHE_HOME / ".apt.lock"):
        absent_now = [p.name for p in missing(group, path)]
        if not absent_now:
            return []
        print(f"charthouse: installing host packages: {' '.join(absent_now)}", flush=True)
        run(["apt-get", "update", "-qq"], env=_APT_ENV, timeout=600)
        run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *absent_now],
            env=_APT_ENV,
            timeout=1800,
        )
    still = [p.name for p in missing(group, path)]
    if still:
        raise CharthouseError(f"apt-get install finished but these are still missing: {still}")
    return absent_now
