"""Reading rendered pod specs in chart tests: a container by name, its env, its mounts,
the pod's volumes. One place for what every chart's tests look up."""

from __future__ import annotations

from typing import Any


def container(spec: dict[str, Any], name: str, *, init: bool = False) -> dict[str, Any]:
    """The container (or init container) ``name``; KeyError lists the ones there are."""
    key = "initContainers" if init else "containers"
    for c in spec.get(key, []):
        if c["name"] == name:
            return dict(c)
    raise KeyError(f"no {key} entry {name!r} in {[c['name'] for c in spec.get(key, [])]}")


def env(c: dict[str, Any]) -> dict[str, Any]:
    """Env var name -> its value, or its valueFrom when it has no literal value."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in c.get("env", [])}


def mounts(c: dict[str, Any]) -> dict[str, str]:
    """Mount path -> volume name."""
    return {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}


def volumes(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Volume name -> volume."""
    return {v["name"]: v for v in spec.get("volumes", [])}
