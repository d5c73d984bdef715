"""Files others read are replaced in one step, with the mode they should have."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from charthouse import atomicfile


def test_write_replaces_the_file_by_rename_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "index.yaml"
    path.write_text("old")
    inode_before = path.stat().st_ino
    atomicfile.write(path, b"new")
    assert path.read_bytes() == b"new"
    assert path.stat().st_ino != inode_before  # renamed into place, not rewritten in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.yaml"]


def test_write_keeps_the_replaced_files_mode_or_uses_the_one_given(tmp_path: Path) -> None:
    kept = tmp_path / "run.sh"
    kept.write_text("old")
    kept.chmod(0o750)
    atomicfile.write(kept, "new")
    assert kept.stat().st_mode & 0o777 == 0o750
    fresh = tmp_path / "new" / "README.md"  # parents are created
    atomicfile.write(fresh, "text é")
    assert fresh.stat().st_mode & 0o777 == 0o644
    assert fresh.read_text(encoding="utf-8") == "text é"
    private = tmp_path / "key.pem"
    atomicfile.write(private, b"secret", mode=0o600)
    assert private.stat().st_mode & 0o777 == 0o600


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "index.yaml"
    path.write_text("old")

    def full_disk(_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        atomicfile.write(path, b"new")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.yaml"]


def test_copy_is_a_byte_identical_atomic_copy(tmp_path: Path) -> None:
    source = tmp_path / "app-0.1.0.tgz"
    source.write_bytes(bytes(range(256)))
    atomicfile.copy(source, tmp_path / "repo" / source.name)
    assert (tmp_path / "repo" / source.name).read_bytes() == source.read_bytes()
