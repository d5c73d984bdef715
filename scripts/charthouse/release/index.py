"""The chart repository index (``index.yaml``): the model, load, merge, write.

Entries for new archives come from :mod:`charthouse.release.archive`.

Rules that make releases safe to re-run and to run concurrently with readers:

* an existing entry is never dropped or rewritten (its ``created`` and ``digest`` stay);
* a version already present with a different digest is refused, with the same digest
  it is skipped, so re-running a release is a no-op;
* the file is replaced atomically (:mod:`charthouse.atomicfile`), so a reader or a crash
  sees the old index or the new one, never half of one;
* output is deterministic: entries sorted by name and by version (highest first),
  keys sorted, ``generated`` equal to the newest ``created``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from charthouse import yamlfile
from charthouse.errors import CharthouseError
from charthouse.locks import file_lock
from charthouse.versioning import sort_descending

INDEX_FILE = "index.yaml"
API_VERSION = "v1"
Entry = dict[str, Any]


def format_time(epoch: float) -> str:
    """RFC 3339 in UTC, the form helm writes for ``created``."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Index:
    """An index.yaml in memory; ``extra`` keeps top-level keys we do not manage."""

    entries: dict[str, list[Entry]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    _lookup: dict[tuple[str, str], Entry] = field(default_factory=dict, repr=False)

    def find(self, name: str, version: str) -> Entry | None:
        if len(self._lookup) != len(self):
            self._lookup = {
                (n, str(e.get("version"))): e for n, es in self.entries.items() for e in es
            }
        return self._lookup.get((name, version))

    def add(self, entry: Entry) -> None:
        name = str(entry["name"])
        self.entries.setdefault(name, []).append(entry)
        self._lookup[(name, str(entry["version"]))] = entry

    def versions(self, name: str) -> list[str]:
        return [str(entry["version"]) for entry in self.entries.get(name, ())]

    def __len__(self) -> int:
        return sum(len(v) for v in self.entries.values())


def load(path: Path) -> Index:
    """Read ``path``; a missing file is an empty index. Errors name the file and field."""
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return Index()
    except OSError as exc:
        raise CharthouseError(f"{path}: cannot read index: {exc.strerror}") from exc
    try:
        data = _fast_parse(text.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CharthouseError(f"{path}: not UTF-8 text: {exc.reason}") from exc
    if data is None:  # written by helm or by hand: the general (slower) YAML path
        data = yamlfile.parse(text, path, loader=yamlfile.TimestampsAsTextLoader)
    if data is None:
        return Index()
    return from_mapping(data, str(path))


def from_mapping(data: Any, source: str) -> Index:
    if not isinstance(data, dict):
        raise CharthouseError(f"{source}: expected a mapping at the top level")
    api = data.get("apiVersion")
    if api != API_VERSION:
        raise CharthouseError(f"{source}: apiVersion: expected {API_VERSION!r}, got {api!r}")
    raw = data.get("entries") or {}
    if not isinstance(raw, dict):
        raise CharthouseError(f"{source}: entries: expected a mapping of chart name to versions")
    entries: dict[str, list[Entry]] = {}
    for name, versions in raw.items():
        if not isinstance(versions, list):
            raise CharthouseError(f"{source}: entries.{name}: expected a list of versions")
        seen: set[str] = set()
        for i, entry in enumerate(versions):
            where = f"{source}: entries.{name}[{i}]"
            if not isinstance(entry, dict):
                raise CharthouseError(f"{where}: expected a mapping")
            for key in ("version", "digest"):
                if not isinstance(entry.get(key), str) or not entry[key]:
                    raise CharthouseError(f"{where}.{key}: required string, got {entry.get(key)!r}")
            if entry["version"] in seen:
                raise CharthouseError(f"{where}.version: {entry['version']} listed twice")
            seen.add(entry["version"])
        entries[str(name)] = versions
    extra = {k: v for k, v in data.items() if k not in ("apiVersion", "entries", "generated")}
    return Index(entries=entries, extra=extra)


def dumps(index: Index) -> bytes:
    """Deterministic YAML for ``index``: same entries, same bytes.

    Each version is one line, a JSON flow mapping (JSON is YAML: helm, Artifact Hub and
    PyYAML all read it). That keeps a release's diff to one line per version and lets
    :func:`load` read our own files ~100x faster than a YAML parser would.
    """
    lines = [f"apiVersion: {API_VERSION}", "entries:" if index.entries else "entries: {}"]
    newest = ""
    for name in sorted(index.entries):
        by_version = {str(e["version"]): e for e in index.entries[name]}
        lines.append(f"  {_key(name)}:")
        for version in sort_descending(by_version):
            entry = by_version[version]
            created = entry.get("created")
            if isinstance(created, str) and created > newest:
                newest = created
            lines.append("  - " + _flow(entry))
    lines.append(f"generated: {_flow(newest or format_time(0))}")
    for key in sorted(index.extra):
        lines.append(f"{_key(key)}: {_flow(index.extra[key])}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _flow(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "), default=str
    )


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")


def _key(name: str) -> str:
    return name if _PLAIN_KEY.fullmatch(name) else _flow(name)


def _fast_parse(text: str) -> dict[str, Any] | None:
    """Read the canonical form :func:`dumps` writes; None for anything else."""
    lines = text.split("\n")
    if len(lines) < 3 or lines[0] != f"apiVersion: {API_VERSION}":
        return None
    data: dict[str, Any] = {"apiVersion": API_VERSION}
    entries: dict[str, list[Any]] = {}
    current: list[Any] | None = None
    try:
        if lines[1] == "entries: {}":
            rest = lines[2:]
        elif lines[1] == "entries:":
            end = 2
            while end < len(lines) and lines[end].startswith("  "):
                end += 1
            rest = lines[end:]
            for line in lines[2:end]:
                if line.startswith("  - {"):
                    if current is None:
                        return None
                    current.append(json.loads(line[4:]))
                elif line.endswith(":") and not line.startswith("   "):
                    raw = line[2:-1]
                    name = json.loads(raw) if raw.startswith('"') else raw
                    current = entries.setdefault(name, [])
                else:
                    return None
        else:
            return None
        for line in rest:
            if not line:
                continue
            key, sep, value = line.partition(": ")
            if not sep or key.startswith((" ", "-")):
                return None
            data[json.loads(key) if key.startswith('"') else key] = json.loads(value)
    except ValueError:
        return None
    data["entries"] = entries
    return data


@contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Serialise index writers on one machine (two `make release` at once)."""
    with file_lock(directory / ".index.lock"):
        yield


@dataclass(frozen=True)
class MergeResult:
    added: tuple[str, ...]
    skipped: tuple[str, ...]


def check(index: Index, entry: Mapping[str, Any], source: str = "") -> bool:
    """True when ``entry`` is new; False when present with the same digest; refuse otherwise."""
    existing = index.find(str(entry["name"]), str(entry["version"]))
    if existing is None:
        return True
    if existing.get("digest") == entry["digest"]:
        return False
    label = f"{entry['name']} {entry['version']}"
    raise CharthouseError(
        f"{source or INDEX_FILE}: entries.{entry['name']}: version {entry['version']} is already "
        f"published with digest {existing.get('digest')}, but {label} now packages to "
        f"{entry['digest']}; published versions are immutable: bump the chart version"
    )


def merge(index: Index, new: Iterable[Entry], source: str = "") -> MergeResult:
    """Add ``new`` entries to ``index`` in place; existing entries are left untouched."""
    added: list[str] = []
    skipped: list[str] = []
    pending = list(new)
    for entry in pending:  # validate all first: a refused entry must leave index unchanged
        check(index, entry, source)
    for entry in pending:
        label = f"{entry['name']}-{entry['version']}"
        if check(index, entry, source):
            index.add(entry)
            added.append(label)
        else:
            skipped.append(label)
    return MergeResult(tuple(added), tuple(skipped))
