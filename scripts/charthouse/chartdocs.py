"""Generate each chart's README values table from the comments in its values.yaml.

Convention (helm-docs style): the comment block directly above a key holds a
``# -- description`` line, optional continuation lines, and an optional
``# @default -- text`` line that replaces the literal default in the table.

A mapping whose children carry their own ``# --`` comments is documented key by
key; any other value (a scalar, a list, a free-form map) is one row. A key that
is neither documented nor has documented children is reported with its dotted
path and line: an undocumented value is a bug in the chart.

The table lives between two markers in README.md, so the prose around it is
the author's and only the region between the markers is ever rewritten.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from charthouse import yamlfile
from charthouse.errors import CharthouseError

START_MARKER = "<!-- charthouse:values:start -->"
END_MARKER = "<!-- charthouse:values:end -->"

_DESCRIPTION_PREFIX = "# --"
_DEFAULT_PREFIX = "# @default --"


@dataclass(frozen=True)
class ValueRow:
    """One line of the values table."""

    key: str
    type: str
    default: str
    description: str


@dataclass(frozen=True)
class UndocumentedKey:
    """A value with no ``# --`` comment; ``line`` is 1-based."""

    path: str
    line: int


@dataclass(frozen=True)
class ValuesDoc:
    rows: tuple[ValueRow, ...]
    undocumented: tuple[UndocumentedKey, ...]


@dataclass(frozen=True)
class _Comment:
    description: str
    default: str | None


def _comment_above(lines: Sequence[str], key_line: int) -> _Comment | None:
    """The ``# --`` block in the comment lines directly above ``key_line`` (0-based).

    Only an unbroken run of comment lines counts: a blank line ends it, so a
    section comment further up never documents the key below it.
    """
    block: list[str] = []
    index = key_line - 1
    while index >= 0 and lines[index].strip().startswith("#"):
        block.insert(0, lines[index].strip())
        index -= 1
    start = next((i for i, text in enumerate(block) if text.startswith(_DESCRIPTION_PREFIX)), None)
    if start is None:
        return None
    parts = [block[start].removeprefix(_DESCRIPTION_PREFIX).strip()]
    default: str | None = None
    for text in block[start + 1 :]:
        if text.startswith(_DEFAULT_PREFIX):
            default = text.removeprefix(_DEFAULT_PREFIX).strip()
        elif text.startswith(_DESCRIPTION_PREFIX):
            break
        else:
            parts.append(text.lstrip("#").strip())
    return _Comment(" ".join(p for p in parts if p), default)


def _has_documented_child(node: yaml.Node, lines: Sequence[str]) -> bool:
    if not isinstance(node, yaml.MappingNode):
        return False
    return any(
        _comment_above(lines, key.start_mark.line) is not None
        or _has_documented_child(value, lines)
        for key, value in node.value
    )


def _yaml_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "null"


_SCHEMA_TYPE_NAMES = {"integer": "int", "boolean": "bool", "number": "float", "array": "list"}


def _local_target(schema: Mapping[str, Any], node: Any) -> Any:
    """``node``, or what its local ``$ref`` points to (the shared pieces are inlined
    under ``definitions`` by ``charthouse schemas``); a chain is followed a few steps."""
    for _ in range(8):
        ref = node.get("$ref") if isinstance(node, Mapping) else None
        if not (isinstance(ref, str) and ref.startswith("#/")):
            return node
        node = schema
        for part in ref[2:].split("/"):
            node = node.get(part) if isinstance(node, Mapping) else None
    return node


def _schema_node(schema: Mapping[str, Any] | None, path: Sequence[str]) -> Mapping[str, Any] | None:
    if schema is None:
        return None
    node: Any = schema
    for part in path:
        node = _local_target(schema, node)
        if not isinstance(node, Mapping):
            return None
        # A chart's refinement of a piece (allOf [piece] + properties) names the field
        # itself or leaves it to the piece.
        holders = [node, *(_local_target(schema, n) for n in node.get("allOf") or [])]
        found = [
            h["properties"][part]
            for h in holders
            if isinstance(h, Mapping)
            and isinstance(h.get("properties"), Mapping)
            and part in h["properties"]
        ]
        if not found:
            return None
        node = found[0]
    resolved = _local_target(schema, node)
    return resolved if isinstance(resolved, Mapping) else None


def _schema_type(node: Mapping[str, Any] | None) -> str | None:
    """The schema's type for a value (``int | null`` for a nullable int), if it says."""
    if not isinstance(node, Mapping):
        return None
    declared = node.get("type")
    names: list[str] = []
    if isinstance(declared, str):
        names = [declared]
    elif isinstance(declared, list):
        names = [str(t) for t in declared]
    else:
        for keyword in ("oneOf", "anyOf"):
            for alternative in node.get(keyword) or []:
                found = _schema_type(alternative)
                if found:
                    names += found.split(" | ")
    unique = list(dict.fromkeys(_SCHEMA_TYPE_NAMES.get(n, n) for n in names))
    return " | ".join(unique) if unique else None


def format_default(value: Any) -> str:
    """A value as compact JSON, the way it would be written with ``--set-json``."""
    return json.dumps(value, separators=(", ", ": "), ensure_ascii=False, default=str)


def parse_values(
    text: str, *, source: str = "values.yaml", schema: Mapping[str, Any] | None = None
) -> ValuesDoc:
    """Rows for every documented value of ``text``, and every undocumented key.

    ``schema`` (the chart's values.schema.json) refines the type column; without
    it the type is inferred from the default.
    """
    data = yamlfile.parse(text, source)
    root = yaml.compose(text, Loader=yaml.SafeLoader)  # nodes with line numbers
    if root is None:
        return ValuesDoc((), ())
    if not isinstance(root, yaml.MappingNode) or not isinstance(data, dict):
        raise CharthouseError(f"{source}: expected a mapping of values at the top level")
    lines = text.splitlines()
    rows: list[ValueRow] = []
    undocumented: list[UndocumentedKey] = []

    def walk(node: yaml.MappingNode, values: Mapping[str, Any], path: tuple[str, ...]) -> None:
        for key_node, value_node in node.value:
            key = str(key_node.value)
            key_path = (*path, key)
            value = values.get(key)
            comment = _comment_above(lines, key_node.start_mark.line)
            if (
                isinstance(value_node, yaml.MappingNode)
                and value_node.value
                and (_has_documented_child(value_node, lines) or comment is None)
            ):
                walk(value_node, value if isinstance(value, Mapping) else {}, key_path)
            elif comment is None:
                undocumented.append(
                    UndocumentedKey(".".join(key_path), key_node.start_mark.line + 1)
                )
            else:
                type_name = _schema_type(_schema_node(schema, key_path)) or _yaml_type(value)
                default = comment.default if comment.default is not None else format_default(value)
                rows.append(ValueRow(".".join(key_path), type_name, default, comment.description))

    walk(root, data, ())
    return ValuesDoc(tuple(rows), tuple(undocumented))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_table(rows: Sequence[ValueRow]) -> str:
    """A Markdown table: Key, Type, Default, Description, in values.yaml order."""
    out = ["| Key | Type | Default | Description |", "|-----|------|---------|-------------|"]
    for row in rows:
        default = f"`{_cell(row.default)}`" if row.default else ""
        out.append(
            f"| `{_cell(row.key)}` | {_cell(row.type)} | {default} | {_cell(row.description)} |"
        )
    return "\n".join(out) + "\n"


def replace_region(readme: str, table: str, *, source: str = "README.md") -> str:
    """``readme`` with the text between the markers replaced by ``table``."""
    start = readme.find(START_MARKER)
    end = readme.find(END_MARKER)
    if start < 0 or end < 0:
        missing = START_MARKER if start < 0 else END_MARKER
        raise CharthouseError(f"{source}: marker {missing} not found")
    if end < start:
        raise CharthouseError(f"{source}: {END_MARKER} comes before {START_MARKER}")
    head = readme[: start + len(START_MARKER)]
    return f"{head}\n\n{table}\n{readme[end:]}"


@dataclass(frozen=True)
class ChartDocs:
    """The README a chart should have, next to the one it has."""

    readme_path: Path
    current: str
    expected: str
    undocumented: tuple[UndocumentedKey, ...]
    values_path: Path

    @property
    def stale(self) -> bool:
        return self.current != self.expected


def chart_docs(chart_dir: Path) -> ChartDocs:
    """Read a chart's values.yaml, schema and README and compute the expected README."""
    values_path = chart_dir / "values.yaml"
    readme_path = chart_dir / "README.md"
    schema_path = chart_dir / "values.schema.json"
    for required in (values_path, readme_path):
        if not required.is_file():
            raise CharthouseError(f"{required}: not found")
    schema: Mapping[str, Any] | None = None
    if schema_path.is_file():
        try:
            schema = json.loads(schema_path.read_text())
        except json.JSONDecodeError as exc:
            raise CharthouseError(f"{schema_path}: invalid JSON: {exc}") from exc
    doc = parse_values(values_path.read_text(), source=str(values_path), schema=schema)
    current = readme_path.read_text()
    expected = replace_region(current, render_table(doc.rows), source=str(readme_path))
    return ChartDocs(readme_path, current, expected, doc.undocumented, values_path)
