"""The release as helm sees it: metadata, values, manifest, and the upgrades a rollout makes.

Always the pinned helm binary, always through :mod:`charthouse.proc` (timeouts,
captured stderr turned into one clear error). Every upgrade gets one complete
values file and no ``--wait``: the rollout's own gates do the waiting, with reasons.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from charthouse.errors import CharthouseError
from charthouse.proc import run

HELM_TIMEOUT = 300.0
PENDING = ("pending-install", "pending-upgrade", "pending-rollback")


@dataclass(frozen=True)
class Metadata:
    """``helm get metadata`` of the latest revision."""

    chart: str
    chart_version: str
    revision: int
    status: str

    @property
    def pending(self) -> bool:
        return self.status in PENDING


@dataclass(frozen=True)
class Revision:
    """One line of ``helm history``."""

    revision: int
    status: str
    description: str


@dataclass(frozen=True)
class Release:
    name: str
    namespace: str
    binary: Path
    kubeconfig: Path | None = None

    def _run(self, *args: str | Path, timeout: float = 60.0, check: bool = True) -> Any:
        argv: list[str | Path] = [self.binary, *args, "--namespace", self.namespace]
        if self.kubeconfig is not None:
            argv += ["--kubeconfig", self.kubeconfig]
        return run(argv, timeout=timeout, check=check)

    def metadata(self) -> Metadata | None:
        """None when the release does not exist."""
        result = self._run("get", "metadata", self.name, "--output", "json", check=False)
        if result.returncode != 0:
            if "not found" in result.stderr:
                return None
            raise CharthouseError(
                f"helm get metadata {self.name}: {result.stderr.strip().splitlines()[-1:]}"
            )
        data = json.loads(result.stdout)
        return Metadata(
            chart=str(data.get("chart", "")),
            chart_version=str(data.get("version", "")),
            revision=int(data["revision"]),
            status=str(data.get("status", "")),
        )

    def values(self, *, computed: bool = False, revision: int | None = None) -> dict[str, Any]:
        """The user-supplied values (``computed``: merged with the chart's defaults)."""
        args = ["get", "values", self.name, "--output", "json"]
        if computed:
            args.append("--all")
        if revision is not None:
            args += ["--revision", str(revision)]
        found = json.loads(self._run(*args).stdout or "null")
        return dict(found or {})

    def manifest(self) -> list[dict[str, Any]]:
        out = self._run("get", "manifest", self.name).stdout
        return [doc for doc in yaml.safe_load_all(out) if isinstance(doc, dict)]

    def hooks(self) -> list[dict[str, Any]]:
        out = self._run("get", "hooks", self.name).stdout
        return [doc for doc in yaml.safe_load_all(out) if isinstance(doc, dict)]

    def history(self, limit: int = 20) -> list[Revision]:
        out = self._run("history", self.name, "--max", str(limit), "--output", "json").stdout
        return [
            Revision(int(item["revision"]), str(item["status"]), str(item.get("description", "")))
            for item in json.loads(out or "[]")
        ]

    def upgrade(
        self,
        chart: str,
        values: Mapping[str, Any],
        *,
        description: str,
        chart_version: str = "",
    ) -> None:
        """One revision with exactly ``values``; returns once helm has applied it."""
        with _values_file(values) as path:
            args: list[str | Path] = ["upgrade", self.name, chart, "--values", path]
            args += ["--description", description, *_version(chart_version)]
            self._run(*args, timeout=HELM_TIMEOUT)

    def render(
        self, chart: str, values: Mapping[str, Any], *, chart_version: str = ""
    ) -> list[dict[str, Any]]:
        """The objects a revision with exactly ``values`` would have (``helm template``:
        nothing is sent to the cluster)."""
        with _values_file(values) as path:
            args: list[str | Path] = ["template", self.name, chart, "--values", path]
            out = self._run(*args, *_version(chart_version), timeout=HELM_TIMEOUT).stdout
        return [doc for doc in yaml.safe_load_all(out) if isinstance(doc, dict)]

    def rollback(self, revision: int, *, description: str = "") -> None:
        """Back to ``revision``; helm allows it while the release is pending, upgrade does not."""
        del description  # helm rollback has no --description; history says "Rollback to N"
        self._run("rollback", self.name, str(revision), timeout=HELM_TIMEOUT)


@contextmanager
def _values_file(values: Mapping[str, Any]) -> Iterator[Path]:
    """``values`` in a private temporary file for helm's ``--values``."""
    handle, path = tempfile.mkstemp(prefix="charthouse-rollout-", suffix=".json")
    try:
        with os.fdopen(handle, "w") as out:
            json.dump(values, out)
        yield Path(path)
    finally:
        Path(path).unlink(missing_ok=True)


def _version(chart_version: str) -> list[str]:
    return ["--version", chart_version] if chart_version else []


def show(binary: Path, chart: str, what: str, *, version: str = "") -> str:
    """``helm show chart|values CHART`` (a directory, a repo/name, or an oci:// reference)."""
    args: list[str | Path] = [binary, "show", what, chart]
    if version:
        args += ["--version", version]
    result = run(args, timeout=120.0, check=False)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise CharthouseError(f"--chart {chart}: {last.removeprefix('Error: ')}")
    return str(result.stdout)


def chart_name(binary: Path, chart: str, *, version: str = "") -> str:
    meta = yaml.safe_load(show(binary, chart, "chart", version=version)) or {}
    return str(meta.get("name", ""))


def chart_defaults(binary: Path, chart: str, *, version: str = "") -> dict[str, Any]:
    found = yaml.safe_load(show(binary, chart, "values", version=version))
    return dict(found or {})


def description(rollout_id: str, phase: str, index: int, label: str) -> str:
    """The ``helm history`` description of a rollout's revision; also how a resumed
    command recognises a step it already applied."""
    return f"charthouse rollout {rollout_id} {phase} {index + 1}: {label}"


def applied(history: Sequence[Revision], marker: str) -> Revision | None:
    """The deployed revision whose description is ``marker``, if any."""
    for item in reversed(history):
        if item.description == marker and item.status in ("deployed", "superseded"):
            return item
    return None
