"""Values: loading files, merging them as Helm does, and checking them against
the chart's ``values.schema.json`` so an error names the *file* and the *field*.

Helm's own schema error names the field but not which ``-f`` file set it; users
with five values files deserve better.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema

from charthouse import yamlfile
from charthouse.charts import ChartInfo, load_chart
from charthouse.errors import CharthouseError
from charthouse.kubeschema import ValidateFn, compile_schema
from charthouse.yamlfile import read_mapping

Values = dict[str, Any]


@dataclass(frozen=True)
class ValuesSource:
    """Where a layer of values came from: a file, ``--set``, or inline (tests)."""

    label: str
    values: Values


def load_values_file(path: Path) -> Values:
    """Parse one values file; a malformed or non-mapping file is a clear error."""
    return read_mapping(path, what="values file", allow_empty=True)


def deep_merge(
    base: Mapping[str, Any], override: Mapping[str, Any], *, keep_null: bool = False
) -> Values:
    """Helm's merging: maps merge, everything else replaces. Over chart defaults a
    ``null`` deletes a key the defaults set; a ``null`` for a key they do not set
    stays, as helm keeps it (so the schema still sees a typo like ``app: {prot: null}``).
    Between user layers (``keep_null``) every null is kept so the final coalesce with
    the defaults can apply it, as ``helm -f a -f b`` does."""
    merged: Values = dict(base)
    for key, value in override.items():
        if value is None and not keep_null:
            if merged.get(key) is None:
                merged[key] = None
            else:
                merged.pop(key)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value, keep_null=keep_null)
        else:
            merged[key] = value
    return merged


def parse_set(expression: str) -> Values:
    """Parse a ``--set`` expression exactly as Helm does (its own parser, via the SDK)."""
    try:
        import helm_python
    except ImportError:  # pragma: no cover - the SDK is an optional fast path
        return _parse_set_simple(expression)
    try:
        return helm_python.parse_set_string(expression)
    except helm_python.HelmError as exc:
        raise CharthouseError(f"--set {expression}: {exc}") from exc


def _parse_set_simple(expression: str) -> Values:
    """Fallback for the plain ``a.b=c`` form; anything fancier is left to helm."""
    result: Values = {}
    for part in expression.split(","):
        key, sep, raw = part.partition("=")
        if not sep or not key or any(not seg for seg in key.split(".")):
            raise CharthouseError(f"--set {expression}: expected key=value, got {part!r}")
        node = result
        segments = key.split(".")
        for segment in segments[:-1]:
            node = node.setdefault(segment, {})
        node[segments[-1]] = yamlfile.parse(raw, f"--set {expression}") if raw else ""
    return result


def sources(
    values_files: Sequence[Path] = (),
    values: Mapping[str, Any] | None = None,
    set_values: Sequence[str] = (),
) -> list[ValuesSource]:
    """User layers in Helm's precedence order (later wins)."""
    layers = [ValuesSource(str(path), load_values_file(path)) for path in values_files]
    if values:
        layers.append(ValuesSource("inline values", dict(values)))
    layers.extend(ValuesSource(f"--set {expr}", parse_set(expr)) for expr in set_values)
    return layers


def _path_label(path: Iterable[Any]) -> str:
    label = ""
    for part in path:
        label += f"[{part}]" if isinstance(part, int) else (f".{part}" if label else str(part))
    return label or "(top level)"


def _blame(layers: Sequence[ValuesSource], field_path: Sequence[Any], fallback: str) -> str:
    """The last layer that sets ``field_path`` (or its closest parent)."""
    for depth in range(len(field_path), 0, -1):
        for layer in reversed(layers):
            node: Any = layer.values
            for part in field_path[:depth]:
                in_map = isinstance(node, Mapping) and part in node
                in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
                if in_map or in_list:
                    node = node[part]
                else:
                    break
            else:
                return layer.label
    return fallback


def _error_path(error: jsonschema.ValidationError) -> list[Any]:
    path = list(error.absolute_path)
    schema = error.schema
    if (
        error.validator == "additionalProperties"
        and isinstance(error.instance, Mapping)
        and isinstance(schema, Mapping)
    ):
        allowed = set(schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in allowed)
        if extra:
            path.append(extra[0])
    return path


def schema_errors(chart: ChartInfo, layers: Sequence[ValuesSource]) -> list[str]:
    """Every schema violation as ``<file>: <field>: <problem>``, for this chart and
    its ``file://`` subcharts (each validated on its own section plus ``global``)."""
    messages = _check(chart, layers, prefix=())
    merged: Values = dict(chart_defaults(chart))
    for layer in layers:
        merged = deep_merge(merged, layer.values)
    for dep_dir in chart.file_dependencies:
        dep = load_chart(dep_dir)
        alias = _alias_of(chart, dep.name)
        if not _enabled(chart, dep.name, merged):
            continue  # helm validates only the subcharts it renders
        sub_layers = [
            ValuesSource(layer.label, _section(layer.values, alias))
            for layer in layers
            if isinstance(layer.values.get(alias), Mapping) or "global" in layer.values
        ]
        parent_file = chart.path / "values.yaml"
        parent_defaults = _defaults(parent_file, parent_file.stat().st_mtime_ns)
        defaults_layer = ValuesSource(
            str(chart.path / "values.yaml"), _section(parent_defaults, alias)
        )
        messages += _check(dep, [defaults_layer, *sub_layers], prefix=(alias,))
    return messages


def dependency_conditions(chart: ChartInfo, merged: Mapping[str, Any]) -> dict[str, bool | None]:
    """Each dependency's ``condition`` as helm reads it: the first of its paths that
    holds a boolean in ``merged`` (None: no condition, or no boolean there, so on)."""
    found: dict[str, bool | None] = {}
    for dep in chart.metadata.get("dependencies") or []:
        if not isinstance(dep, dict):
            continue
        found[str(dep.get("name"))] = None
        for condition in str(dep.get("condition") or "").split(","):
            node: Any = merged
            for part in condition.strip().split(".") if condition.strip() else []:
                node = node.get(part) if isinstance(node, Mapping) else None
            if isinstance(node, bool):
                found[str(dep.get("name"))] = node
                break
    return found


def _enabled(chart: ChartInfo, dep_name: str, merged: Mapping[str, Any]) -> bool:
    return dependency_conditions(chart, merged).get(dep_name) is not False


def _alias_of(chart: ChartInfo, dep_name: str) -> str:
    for dep in chart.metadata.get("dependencies") or []:
        if isinstance(dep, dict) and dep.get("name") == dep_name:
            return str(dep.get("alias") or dep_name)
    return dep_name


def _section(values: Mapping[str, Any], alias: str) -> Values:
    section = dict(values.get(alias) or {})
    if "global" in values:
        section["global"] = values["global"]
    return section


@cache
def _schema(schema_file: Path, mtime_ns: int) -> tuple[dict[str, Any], ValidateFn]:
    """The parsed schema and its compiled (fast) validator; mtime keys the cache."""
    try:
        schema: dict[str, Any] = json.loads(schema_file.read_text())
    except json.JSONDecodeError as exc:
        raise CharthouseError(f"{schema_file}: invalid JSON: {exc}") from exc
    return schema, compile_schema(schema)


@cache
def _defaults(values_file: Path, mtime_ns: int) -> Values:
    return load_values_file(values_file)


def chart_defaults(chart: ChartInfo) -> Values:
    """The chart's own ``values.yaml`` (parsed once per process and file version).
    Callers must not mutate the result."""
    values_file = chart.path / "values.yaml"
    if not values_file.is_file():
        return {}
    return _defaults(values_file, values_file.stat().st_mtime_ns)


def chart_schema(chart: ChartInfo) -> dict[str, Any]:
    """The chart's parsed ``values.schema.json`` (``{}`` without one). Callers must
    not mutate the result."""
    schema_file = chart.path / "values.schema.json"
    if not schema_file.is_file():
        return {}
    return _schema(schema_file, schema_file.stat().st_mtime_ns)[0]


def _check(chart: ChartInfo, layers: Sequence[ValuesSource], prefix: tuple[str, ...]) -> list[str]:
    schema_file = chart.path / "values.schema.json"
    if not schema_file.is_file():
        return []
    schema, fast_validate = _schema(schema_file, schema_file.stat().st_mtime_ns)
    values_file = chart.path / "values.yaml"
    defaults = ValuesSource(
        str(values_file), _defaults(values_file, values_file.stat().st_mtime_ns)
    )
    merged: Values = {}
    for layer in [defaults, *layers]:
        merged = deep_merge(merged, layer.values)
    try:
        fast_validate(merged)
    except fastjsonschema.JsonSchemaValueException:
        pass  # invalid: collect every error, with paths, from the reference validator below
    else:
        return []
    validator = jsonschema.Draft7Validator(schema)
    messages = []
    for error in sorted(validator.iter_errors(merged), key=lambda e: list(e.absolute_path)):
        field_path = _error_path(error)
        source = _blame([defaults, *layers], field_path, fallback=defaults.label)
        messages.append(f"{source}: {_path_label([*prefix, *field_path])}: {error.message}")
    return messages
