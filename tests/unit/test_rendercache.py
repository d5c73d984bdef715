"""The render cache's housekeeping, which parallel test workers share."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from charthouse import paths, rendercache


def _entries(root: Path, count: int) -> list[Path]:
    """``count`` cache entries, oldest first (modification times one second apart)."""
    made = []
    for index in range(count):
        key = f"{index:02x}" + "0" * 62
        path = root / key[:2] / f"{key}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
        os.utime(path, (1_000_000 + index, 1_000_000 + index))
        made.append(path)
    return made


def test_prune_keeps_the_newest_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paths, "CACHE_HOME", tmp_path)
    made = _entries(rendercache.cache_dir(), 5)
    assert rendercache.prune(limit=2) == 3
    assert [p.exists() for p in made] == [False, False, False, True, True]


def test_prune_survives_an_entry_another_worker_deleted_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CI saw FileNotFoundError from prune when a second xdist worker's prune had
    deleted an entry between this one's listing and its look at the entry's age."""
    monkeypatch.setattr(paths, "CACHE_HOME", tmp_path)
    root = rendercache.cache_dir()
    made = _entries(root, 4)
    vanished = root / "ff" / ("ff" * 32 + ".json")
    real_glob = Path.glob

    def glob_listing_a_vanished_entry(self: Path, pattern: str) -> Iterator[Path]:
        yield from real_glob(self, pattern)
        if self == root:
            yield vanished  # listed, then deleted by someone else before its stat

    monkeypatch.setattr(Path, "glob", glob_listing_a_vanished_entry)
    assert rendercache.prune(limit=2) == 2
    assert [p.exists() for p in made] == [False, False, True, True]
