"""What the judges see (rendered scenarios, chart and workflow files) and report."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from charthouse.manifests import Manifests, Object


@dataclass(frozen=True)
class Finding:
    """One thing one judge flagged. ``chart``/``scenario``/``object`` are empty where
    the judge looks at something else (a workflow file)."""

    judge: str
    check: str
    message: str
    chart: str = ""
    scenario: str = ""
    object: str = ""
    hook: str = ""
    where: str = ""

    def describe(self) -> str:
        place = " ".join(p for p in (self.chart, self.scenario, self.object, self.where) if p)
        return f"{self.judge}: {self.check}: {place}: {self.message}"

    def as_json(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        return cls(**{k: str(v) for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class RenderedScenario:
    """One chart x scenario rendered to one manifest file."""

    chart: str
    scenario: str
    path: Path
    manifests: Manifests

    def hook_of(self, kind: str, name: str) -> str:
        """The object's ``helm.sh/hook`` annotation (``test`` for helm test pods)."""
        obj = self.manifests.find(kind, name)
        annotations: Any = ((obj or {}).get("metadata") or {}).get("annotations") or {}
        return str(annotations.get("helm.sh/hook", ""))

    def objects(self) -> list[Object]:
        return self.manifests.objects


def stable_text(scenario: RenderedScenario) -> bytes:
    """The scenario's objects with Secret values blanked: a chart may generate
    passwords and certificates afresh on every render, and no judge reads them, so
    they must not make every run a cache miss."""
    objects = []
    for obj in scenario.objects():
        if obj.get("kind") == "Secret":
            obj = {
                **obj,
                **{
                    field: {k: "" for k in (obj.get(field) or {})}
                    for field in ("data", "stringData")
                    if field in obj
                },
            }
        objects.append(obj)
    return json.dumps(objects, sort_keys=True, default=str).encode()


@dataclass
class Inputs:
    """Everything the judges look at, written under ``workdir``."""

    workdir: Path
    scenarios: list[RenderedScenario]
    chart_dirs: list[Path]
    charts_root: Path
    workflows: list[Path]
    kube_version: str
    _digests: dict[str, str] = field(default_factory=dict)

    def scenario_at(self, path: Path | str) -> RenderedScenario | None:
        target = Path(path).resolve()
        for scenario in self.scenarios:
            if scenario.path.resolve() == target:
                return scenario
        return None

    def digest(self, scope: str) -> str:
        """Content digest of what a judge of ``scope`` reads (names relative, so two
        runs in different work directories agree)."""
        if scope not in self._digests:
            digest = hashlib.sha256(f"{scope}\0{self.kube_version}\0".encode())
            for label, path in self._files(scope):
                digest.update(label.encode() + b"\0")
                scenario = self.scenario_at(path) if scope == "manifests" else None
                content = stable_text(scenario) if scenario else path.read_bytes()
                digest.update(hashlib.sha256(content).digest())
            self._digests[scope] = digest.hexdigest()
        return self._digests[scope]

    def _files(self, scope: str) -> list[tuple[str, Path]]:
        if scope == "manifests":
            return [(f"{s.chart}/{s.scenario}", s.path) for s in self.scenarios]
        if scope == "charts":
            return sorted(
                (str(p.relative_to(self.charts_root)), p)
                for d in self.chart_dirs
                for p in d.rglob("*")
                if p.is_file() and "charts" not in p.relative_to(d).parts[:1]
            )
        if scope == "workflows":
            return [(p.name, p) for p in self.workflows]
        raise ValueError(f"unknown judge scope {scope!r}")
