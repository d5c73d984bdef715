"""Values variants of a chart, derived from its ``values.yaml`` and schema.

Used wherever a chart must be exercised beyond its shipped scenarios (the helm 3 /
helm 4 / SDK differential test):

* :func:`toggles`: each boolean of ``values.yaml`` flipped on its own, and each
  string whose schema is an ``enum`` set to every other allowed value;
* :func:`null_defaults`: the "null means unset" defaults, each with sample values
  its schema allows, so a test can render the default (unset) and the set cases
  and check that some variant's output depends on it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from charthouse.charts import ChartInfo
from charthouse.values import chart_defaults, chart_schema

Path_ = tuple[str, ...]


@dataclass(frozen=True)
class Variant:
    """Inline values that differ from the chart's defaults in one place."""

    name: str
    values: Mapping[str, Any] = field(default_factory=dict)


def nested(path: Path_, value: Any) -> dict[str, Any]:
    """``{"a": {"b": value}}`` for the path ``("a", "b")``."""
    out: Any = value
    for part in reversed(path):
        out = {part: out}
    result: dict[str, Any] = out
    return result


def merged(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge of inline values (maps merge, later wins)."""
    out: dict[str, Any] = {}
    for layer in layers:
        out = _merge(out, layer)
    return out


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = _merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _leaves(values: Mapping[str, Any], path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    for key, value in values.items():
        here = (*path, str(key))
        if isinstance(value, Mapping) and value:
            yield from _leaves(value, here)
        else:
            yield here, value


def _resolve(schema: Mapping[str, Any], node: Any) -> Any:
    seen = 0
    while isinstance(node, Mapping) and "$ref" in node and seen < 16:
        ref = str(node["$ref"])
        target: Any = schema
        for part in ref.removeprefix("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, Mapping) else {}
        node, seen = target, seen + 1
    return node


def schema_at(schema: Mapping[str, Any], path: Path_) -> Mapping[str, Any]:
    """The schema of the value at ``path`` (following ``properties`` and ``$ref``);
    ``{}`` where the schema says nothing."""
    node: Any = _resolve(schema, schema)
    for part in path:
        props = node.get("properties", {}) if isinstance(node, Mapping) else {}
        node = _resolve(schema, props.get(part, {}))
    return node if isinstance(node, Mapping) else {}


def _alternatives(node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    options = [node]
    for key in ("oneOf", "anyOf"):
        options += [o for o in node.get(key, []) if isinstance(o, Mapping)]
    return options


def toggles(chart: ChartInfo) -> list[Variant]:
    """Each boolean flipped, each enum string set to each other allowed value."""
    schema = chart_schema(chart)
    found: list[Variant] = []
    for path, value in _leaves(chart_defaults(chart)):
        dotted = ".".join(path)
        if isinstance(value, bool):
            found.append(Variant(f"{dotted}={str(not value).lower()}", nested(path, not value)))
        elif isinstance(value, str):
            allowed: list[Any] = []
            for option in _alternatives(schema_at(schema, path)):
                allowed += [v for v in option.get("enum", []) if v not in allowed]
            for other in allowed:
                if other != value:
                    found.append(Variant(f"{dotted}={other}", nested(path, other)))
    return found


def sample_values(node: Mapping[str, Any]) -> list[Any]:
    """Two typical non-null values the schema ``node`` allows (empty when it has none):
    two, because a template may fall back to exactly the first when the value is unset
    (a PodDisruptionBudget's `maxUnavailable: 1`), and the set case must differ."""
    for option in _alternatives(node):
        types = option.get("type")
        types = types if isinstance(types, list) else [types]
        if "integer" in types or "number" in types:
            low = max(int(option.get("minimum", 1)), 1)
            high = int(option.get("maximum", low + 1))
            return [low, min(low + 1, high)] if high > low else [low]
        if "string" in types and "enum" in option:
            return list(option["enum"][:2])
        if "boolean" in types:
            return [True, False]
    return []


def null_defaults(chart: ChartInfo) -> list[tuple[str, list[Any]]]:
    """The dotted paths of every ``null`` default, with sample values to set."""
    schema = chart_schema(chart)
    return [
        (".".join(path), sample_values(schema_at(schema, path)))
        for path, value in _leaves(chart_defaults(chart))
        if value is None
    ]
