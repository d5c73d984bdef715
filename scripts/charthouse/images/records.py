"""What was built and pushed, one JSON file per image under
``$CHARTHOUSE_HOME/images/records/``.

A record is written only after its image is committed (and rewritten after a
push), atomically: a build killed at any point leaves either the previous
record, which no longer matches the image store and so triggers a rebuild, or
none. An unreadable record counts as no record.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

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
    # The manifest digest the local registry answered after our last push of
    # image_id (the registry is persistent, so this survives cluster restarts).
    pushed_digest: str = ""
    pushed_image_id: str = ""

    def pushed(self, digest: str | None) -> bool:
        """Whether a registry answering ``digest`` for this tag holds this image."""
        same = (digest, self.image_id) == (self.pushed_digest, self.pushed_image_id)
        return bool(digest) and same


def path(directory: Path, name: str) -> Path:
    return directory / f"{name}.json"


def load(directory: Path, name: str) -> Record | None:
    try:
        data = json.loads(path(directory, name).read_text(encoding="utf-8"))
        known = {f.name for f in fields(Record)}
        return Record(**{k: v for k, v in data.items() if k in known})
    except (OSError, ValueError, TypeError):
        return None


def save(directory: Path, record: Record) -> None:
    atomicfile.write(path(directory, record.name), json.dumps(asdict(record), indent=2) + "\n")
