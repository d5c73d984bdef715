"""Reading YAML (values, Chart.yaml, index.yaml, pins, rendered manifests, CRDs), with
one loader and one error style: the file, the line and column, and what is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from charthouse.errors import CharthouseError

# libyaml is ~10x faster; the pure-Python loader is the fallback where it is missing.
LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class TimestampsAsTextLoader(LOADER):  # type: ignore[misc,valid-type]
    """Keeps timestamps as the text found, so an index entry's ``created`` (or a date in
    a packaged Chart.yaml) is never re-serialised in another form."""


TimestampsAsTextLoader.add_constructor(
    "tag:yaml.org,2002:timestamp",
    lambda loader, node: loader.construct_scalar(node),
)


def _error(exc: yaml.YAMLError, source: Path | str) -> CharthouseError:
    mark = getattr(exc, "problem_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return CharthouseError(f"{source}: invalid YAML{where}: {problem}")


def parse(text: str | bytes, source: Path | str, loader: Any = LOADER) -> Any:
    """Parse one YAML document; a syntax error names ``source`` and the position."""
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        raise _error(exc, source) from exc


def parse_all(text: str | bytes, source: Path | str, loader: Any = LOADER) -> list[Any]:
    """Parse every document of a multi-document stream (empty documents are None)."""
    try:
        return list(yaml.load_all(text, Loader=loader))
    except yaml.YAMLError as exc:
        raise _error(exc, source) from exc


def read_mapping(path: Path, *, what: str = "file", allow_empty: bool = False) -> dict[str, Any]:
    """Load a YAML file that must hold a mapping (an empty file is ``{}`` if allowed)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CharthouseError(f"{path}: {what} not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise CharthouseError(f"{path}: cannot read {what}: {exc}") from exc
    data = parse(text, path)
    if data is None and allow_empty:
        return {}
    if not isinstance(data, dict):
        raise CharthouseError(
            f"{path}: expected a mapping at the top level, got {type(data).__name__}"
        )
    return data
