"""What was built and pushed, one JSON file per image under
``$CHARTHOUSE_HOME/images/records/``.

A record is written only after its image is committed (and rewritten after a
push), atomically: a build killed at any point leaves either the previous
record, which no longer matches the image store and so triggers a rebuild, or
none. An unreadable record counts as no record.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from charthouse import atomicfile


@dataclass(frozen=True)
class Record:
    name: str
    ref: str
    key: str
    image_id: str
    backend: str
    size: int
    seconds: float
    built_at: float
    # The image last pushed, and per tag the manifest digest the local registry
    # answered after that push (the registry is persistent, so this survives
    # cluster restarts).
    pushed_image_id: str = ""
    pushed_digests: Mapping[str, str] = field(default_factory=dict)

    def pushed(self, tag: str, digest: str | None) -> bool:
        """Whether a registry answering ``digest`` for ``tag`` holds this image."""
        same = self.pushed_image_id == self.image_id
        return bool(digest) and same and self.pushed_digests.get(tag) == digest


def _upgrade(data: dict[str, Any]) -> dict[str, Any]:
    """Records written before images had several tags kept one pushed digest: it
    is the main tag's, so the registry's copy is not pushed again."""
    old = data.pop("pushed_digest", None)
    if old and "pushed_digests" not in data:
        data["pushed_digests"] = {str(data.get("ref", "")).rpartition(":")[2]: old}
    if not isinstance(data.get("pushed_digests", {}), dict):
        raise ValueError("pushed_digests: expected a mapping")
    return data


def path(directory: Path, name: str) -> Path:
    return directory / f"{name}.json"


def load(directory: Path, name: str) -> Record | None:
    try:
        data = _upgrade(json.loads(path(directory, name).read_text(encoding="utf-8")))
        known = {f.name for f in fields(Record)}
        return Record(**{k: v for k, v in data.items() if k in known})
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def save(directory: Path, record: Record) -> None:
    atomicfile.write(path(directory, record.name), json.dumps(asdict(record), indent=2) + "\n")
