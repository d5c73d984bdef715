"""Fixtures of the image builder's unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private $CHARTHOUSE_HOME: records and staging of these tests land here."""
    path = tmp_path / "home"
    monkeypatch.setenv("CHARTHOUSE_HOME", str(path))
    return path
