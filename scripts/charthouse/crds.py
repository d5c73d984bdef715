"""Schemas for custom resources (ServiceMonitor, Gateway API), from pinned CRDs.

The CRD files come out of the pinned Go modules listed under ``crds:`` in
``ci/tools.yaml`` (``go mod download``; cached by the Go module cache). Validation
is strict like the built-in kinds: a CRD's structural schema prunes unknown fields
on the server, silently, which is exactly the typo we want to catch, so every
object schema without ``x-kubernetes-preserve-unknown-fields`` gets
``additionalProperties: false``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema
from fastjsonschema.draft04 import DOLLAR_FINDER

from charthouse import paths, pins, yamlfile
from charthouse.errors import CharthouseError, ToolError
from charthouse.kubeschema import SchemaViolation, ValidateFn, compile_schema, field_of
from charthouse.proc import run


@dataclass(frozen=True)
class CrdSource:
    name: str
    module: str
    version: str
    files: tuple[str, ...]
    dir: str = ""


def sources() -> list[CrdSource]:
    found = []
    for name, entry in pins.section("crds").items():
        where = f"{paths.TOOLS_FILE}: crds.{name}"
        if not isinstance(entry, dict) or not entry.get("module") or not entry.get("version"):
            raise CharthouseError(f"{where}: needs module and version")
        if not entry.get("files") and not entry.get("dir"):
            raise CharthouseError(f"{where}: needs files or dir")
        files = tuple(entry.get("files") or ())
        found.append(
            CrdSource(name, entry["module"], entry["version"], files, entry.get("dir", ""))
        )
    return found


def _module_cache_dir(module: str, version: str) -> Path | None:
    """The extracted module in GOMODCACHE, found without running ``go`` (fast path)."""
    root = os.environ.get("GOMODCACHE") or str(
        Path(os.environ.get("GOPATH") or Path.home() / "go") / "pkg" / "mod"
    )
    escaped = re.sub(r"[A-Z]", lambda m: "!" + m.group(0).lower(), module)
    candidate = Path(root) / f"{escaped}@{version}"
    return candidate if candidate.is_dir() else None


def module_dir(module: str, version: str) -> Path:
    """Download (once) and locate a Go module's files."""
    go = shutil.which("go")
    if go is None:
        raise ToolError(
            f"go: not found on PATH; needed to fetch CRD schemas from {module}@{version}"
        )
    cached = _module_cache_dir(module, version)
    if cached is not None:
        return cached
    result = run(
        [go, "mod", "download", "-json", f"{module}@{version}"],
        timeout=600,
        env={"GOFLAGS": "-mod=mod"},
    )
    return Path(json.loads(result.stdout)["Dir"])


def crd_files(name: str | None = None) -> list[Path]:
    """Every pinned CRD file, or those of source ``name`` (downloading on first use)."""
    files = []
    for source in sources():
        if name is not None and source.name != name:
            continue
        root = module_dir(source.module, source.version)
        if source.dir:
            files += sorted((root / source.dir).glob("*.yaml"))
        for rel in source.files:
            path = root / rel
            if not path.is_file():
                raise CharthouseError(
                    f"{paths.TOOLS_FILE}: crds.{source.name}: {rel} not in "
                    f"{source.module}@{source.version}"
                )
            files.append(path)
    return files


def _python_regex(pattern: Any) -> bool:
    """CRD patterns are Go RE2; a few (inline global flags, ``$`` in a class once
    fastjsonschema rewrites ``$`` to ``\\Z``) don't compile in Python: skip those."""
    try:
        re.compile(str(pattern))
        re.compile(DOLLAR_FINDER.sub(r"\\Z", str(pattern)))
    except re.error:
        return False
    return True


def _strict(node: Any) -> Any:
    if isinstance(node, dict):
        if "pattern" in node and not _python_regex(node["pattern"]):
            node = {k: v for k, v in node.items() if k != "pattern"}
        out = {
            k: _strict(v)
            for k, v in node.items()
            if k not in ("description", "format") and not k.startswith("x-kubernetes")
        }
        if "properties" in node:
            out["properties"] = {k: _strict(v) for k, v in node["properties"].items()}
            if (
                not node.get("x-kubernetes-preserve-unknown-fields")
                and "additionalProperties" not in node
            ):
                out["additionalProperties"] = False
        if node.get("x-kubernetes-int-or-string"):
            out.pop("type", None)
            out["type"] = ["integer", "string"]
        return out
    if isinstance(node, list):
        return [_strict(item) for item in node]
    return node


@cache
def _schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> strict schema of every served version of every pinned CRD."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in crd_files():
        for crd in yamlfile.parse_all(path.read_text(), path):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            for version in spec["versions"]:
                if version.get("served"):
                    key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
                    found[key] = version["schema"]["openAPIV3Schema"]
    return found


@cache
def _validator(api_version: str, kind: str) -> ValidateFn | None:
    body = strict_schema(api_version, kind)
    return None if body is None else compile_schema(body)


def strict_schema(api_version: str, kind: str) -> dict[str, Any] | None:
    """The strict JSON schema of a pinned CRD's kind (unknown fields rejected,
    status left out), or None when no pinned CRD defines it."""
    schema = _schemas().get((api_version, kind))
    if schema is None:
        return None
    body: dict[str, Any] = _strict(schema)
    body.setdefault("properties", {}).update(
        {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
        }
    )
    body["required"] = sorted({*body.get("required", []), "apiVersion", "kind", "metadata"})
    body["properties"].pop("status", None)
    return body


def known_kinds() -> set[tuple[str, str]]:
    return set(_schemas())


def validate_object(obj: Mapping[str, Any]) -> SchemaViolation | None:
    """Validate a custom resource; an unknown kind is itself a violation."""
    key = (str(obj.get("apiVersion")), str(obj.get("kind")))
    validate = _validator(*key)
    if validate is None:
        return SchemaViolation(
            field="kind",
            message=f"no schema for {key[0]} {key[1]} "
            "(not a built-in kind and not a pinned CRD in ci/tools.yaml)",
        )
    try:
        validate(obj)
    except fastjsonschema.JsonSchemaValueException as exc:
        return SchemaViolation(field=field_of(exc), message=exc.message)
    return None
