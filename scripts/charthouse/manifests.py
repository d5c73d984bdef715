"""Parsed render output: objects with lookups by kind and name, and pod templates.

Shared by ``charthouse validate``, the policy checks and the unit-test fixture so
that "what did this chart render?" has one answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from charthouse import yamlfile
from charthouse.errors import CharthouseError

Object = dict[str, Any]

# kind -> path (as keys) from the object to its PodSpec
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


def ref(obj: Object) -> str:
    """``Kind/name`` for messages."""
    return f"{obj.get('kind', '?')}/{obj.get('metadata', {}).get('name', '?')}"


@dataclass(frozen=True)
class PodTemplate:
    """A PodSpec inside some workload, with the field path to it for messages."""

    owner: Object
    path: tuple[str, ...]
    spec: dict[str, Any]
    metadata: dict[str, Any]


class Manifests:
    """The objects one render produced."""

    def __init__(self, objects: list[Object]) -> None:
        self.objects = objects

    @classmethod
    def parse(cls, text: str, *, source: str = "rendered manifests") -> Manifests:
        objects = [doc for doc in yamlfile.parse_all(text, source) if doc]
        for obj in objects:
            if not isinstance(obj, dict) or "kind" not in obj or "apiVersion" not in obj:
                raise CharthouseError(f"{source}: rendered a document without kind/apiVersion")
        return cls(objects)

    def __iter__(self) -> Iterator[Object]:
        return iter(self.objects)

    def __len__(self) -> int:
        return len(self.objects)

    def of_kind(self, kind: str) -> list[Object]:
        return [obj for obj in self.objects if obj["kind"] == kind]

    def names(self, kind: str) -> list[str]:
        return [obj["metadata"]["name"] for obj in self.of_kind(kind)]

    def get(self, kind: str, name: str) -> Object:
        for obj in self.of_kind(kind):
            if obj["metadata"]["name"] == name:
                return obj
        present = ", ".join(ref(obj) for obj in self.objects) or "nothing"
        raise KeyError(f"no {kind}/{name} rendered; present: {present}")

    def find(self, kind: str, name: str) -> Object | None:
        try:
            return self.get(kind, name)
        except KeyError:
            return None

    def pod_templates(self) -> list[PodTemplate]:
        """Every PodSpec rendered: workloads, Jobs, CronJobs and bare (hook) pods."""
        found = []
        for obj in self.objects:
            path = POD_SPEC_PATHS.get(obj["kind"])
            if path is None:
                continue
            node: Any = obj
            for key in path:
                node = node.get(key) if isinstance(node, dict) else None
            if not isinstance(node, dict):
                continue
            meta_path = (*path[:-1], "metadata") if obj["kind"] != "Pod" else ("metadata",)
            meta: Any = obj
            for key in meta_path:
                meta = meta.get(key, {}) if isinstance(meta, dict) else {}
            found.append(PodTemplate(obj, path, node, meta if isinstance(meta, dict) else {}))
        return found
