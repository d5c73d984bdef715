"""Strict validation of rendered objects against the Kubernetes OpenAPI schemas.

The schemas come from ``kubernetes-validate`` (strict variants: an unknown field is
an error). Its own ``validate()`` re-reads and re-resolves them on every call
(~7 ms per object); here each (version, kind) schema is reduced to the definitions
it reaches, compiled once to Python by ``fastjsonschema``, and the generated code is
cached on disk by content hash, so identical schemas across versions share one
compiled validator and later processes skip compilation entirely.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema
import kubernetes_validate

from charthouse import atomicfile, paths
from charthouse.errors import CharthouseError

SCHEMA_ROOT = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
_DEFS_REF = re.compile(r"^(?:/api/_definitions\.json)?#/\$defs/(.+)$")
_DROPPED_KEYS = ("description", "format")

ValidateFn = Callable[[Any], Any]


@dataclass(frozen=True)
class SchemaViolation:
    """One object failing its schema: the field path and what is wrong."""

    field: str
    message: str


def _minor(kube_version: str) -> str:
    parts = kube_version.removeprefix("v").split(".")
    return f"{parts[0]}.{parts[1]}"


def supported_versions() -> list[str]:
    """MAJOR.MINOR versions for which strict schemas are bundled."""
    found = []
    for entry in SCHEMA_ROOT.glob("v*-local-strict"):
        found.append(_minor(entry.name.removeprefix("v").removesuffix("-local-strict")))
    return sorted(found, key=lambda v: tuple(int(x) for x in v.split(".")))


def _schema_dir(kube_version: str) -> Path:
    directory = SCHEMA_ROOT / f"v{_minor(kube_version)}.0-local-strict"
    if not directory.is_dir():
        have = ", ".join(supported_versions())
        raise CharthouseError(f"--kube-version {kube_version}: no schemas bundled (have {have})")
    return directory


def _schema_file_name(api_version: str, kind: str) -> str:
    # apps/v1 -> apps-v1; rbac.authorization.k8s.io/v1 -> rbac-v1; v1 -> v1
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    return f"{kind.lower()}-{api}.json"


@cache
def _definitions(directory: Path) -> dict[str, Any]:
    defs: dict[str, Any] = json.loads((directory / "_definitions.json").read_text())["$defs"]
    return defs


def _rewrite(node: Any, reached: set[str], *, field_names: bool = False) -> Any:
    """Point refs at local definitions, drop annotation-only keys, note what is reached.

    ``field_names`` marks a ``properties`` mapping, whose keys are API field names
    (a field may well be called ``description``) and are never dropped.
    """
    if isinstance(node, dict):
        result = {}
        for key, value in node.items():
            if field_names:
                result[key] = _rewrite(value, reached)
                continue
            if key in _DROPPED_KEYS or key.startswith("x-kubernetes-"):
                continue
            if key == "properties" and isinstance(value, dict):
                result[key] = _rewrite(value, reached, field_names=True)
                continue
            if key == "$ref" and isinstance(value, str):
                match = _DEFS_REF.match(value)
                if match is None:
                    raise CharthouseError(f"unexpected schema reference {value}")
                reached.add(match.group(1))
                result[key] = f"#/definitions/{match.group(1)}"
            else:
                result[key] = _rewrite(value, reached)
        return result
    if isinstance(node, list):
        return [_rewrite(item, reached) for item in node]
    return node


def _self_contained(directory: Path, file_name: str) -> dict[str, Any]:
    defs = _definitions(directory)
    reached: set[str] = set()
    root: dict[str, Any] = _rewrite(json.loads((directory / file_name).read_text()), reached)
    definitions: dict[str, Any] = {}
    pending = list(reached)
    while pending:
        name = pending.pop()
        if name in definitions:
            continue
        found: set[str] = set()
        definitions[name] = _rewrite(defs[name], found)
        pending.extend(found - definitions.keys())
    root["definitions"] = definitions
    root.pop("$schema", None)
    root.pop("$id", None)  # fastjsonschema names the entry function after it
    root["$schema"] = "http://json-schema.org/draft-07/schema#"
    return root


def compile_schema(schema: Mapping[str, Any]) -> ValidateFn:
    """Compile (or load the cached compilation of) a self-contained JSON schema."""
    canonical = json.dumps(schema, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:24]
    return _compile_cached(digest, canonical)


@cache
def _compile_cached(digest: str, canonical: str) -> ValidateFn:
    cache_file = paths.CACHE_HOME / "schemas" / f"fjs-{fastjsonschema.VERSION}-{digest}.py"
    if cache_file.is_file():
        code = cache_file.read_text()
    else:
        code = fastjsonschema.compile_to_code(json.loads(canonical))
        atomicfile.write(cache_file, code, fsync=False)  # a cache: rebuilt if lost
    namespace: dict[str, Any] = {}
    exec(compile(code, str(cache_file), "exec"), namespace)  # our own generated code
    validate: ValidateFn = namespace["validate"]
    return validate


def standalone_schema(kube_version: str, api_version: str, kind: str) -> dict[str, Any] | None:
    """The strict schema of a built-in kind with every definition it reaches inlined
    (draft 7), or None when the kind has no built-in schema (a CRD kind)."""
    directory = _schema_dir(kube_version)
    file_name = _schema_file_name(api_version, kind)
    if not (directory / file_name).is_file():
        return None
    return _self_contained(directory, file_name)


def schema_file_name(api_version: str, kind: str) -> str:
    """``deployment-apps-v1.json``: the bundle's (and kubeconform's) file naming."""
    return _schema_file_name(api_version, kind)


@cache
def validator_for(kube_version: str, api_version: str, kind: str) -> ValidateFn | None:
    """The compiled validator, or None when no built-in schema exists (a CRD kind)."""
    schema = standalone_schema(kube_version, api_version, kind)
    return None if schema is None else compile_schema(schema)


def field_of(exc: fastjsonschema.JsonSchemaValueException) -> str:
    name = exc.name or "data"
    field = name.removeprefix("data").lstrip(".") or "(top level)"
    if exc.rule == "additionalProperties" and isinstance(exc.value, dict):
        allowed = set((exc.definition or {}).get("properties", {}))
        extra = sorted(k for k in exc.value if k not in allowed)
        if extra:
            field = f"{field}.{extra[0]}" if field != "(top level)" else extra[0]
            return field
    return field


def validate_object(obj: Mapping[str, Any], kube_version: str) -> SchemaViolation | None:
    """Validate one object; return its first violation, or None when valid.

    Raises :class:`LookupError` when the kind has no built-in schema, so callers
    can decide how to treat custom resources.
    """
    validate = validator_for(_minor(kube_version), str(obj.get("apiVersion")), str(obj.get("kind")))
    if validate is None:
        raise LookupError(f"{obj.get('apiVersion')} {obj.get('kind')}")
    try:
        validate(obj)
    except fastjsonschema.JsonSchemaValueException as exc:
        message = exc.message.replace(exc.name or "data", "").strip() or exc.message
        if exc.rule == "additionalProperties":
            message = "unknown field (strict schema)"
        return SchemaViolation(field=field_of(exc), message=message)
    return None
