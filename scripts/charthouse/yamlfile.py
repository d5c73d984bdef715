"""Reading YAML files users write (values, Chart.yaml, index.yaml, pins), with one
error style: the file, the line and column, and what is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from charthouse.errors import CharthouseError

# libyaml is ~10x faster; the pure-Python loader is the fallback where it is missing.
LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse(text: str | bytes, source: Path | str, loader: Any = LOADER) -> Any:
    """Parse one YAML document; a syntax error names ``source`` and the position."""
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CharthouseError(f"{source}: invalid YAML{where}: {problem}") from exc


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
