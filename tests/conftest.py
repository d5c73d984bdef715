"""Fixtures every suite shares."""

from __future__ import annotations

import pytest

from support.rendering import RenderErrorFn, RenderFn
from support.rendering import render as _render
from support.rendering import render_error as _render_error


@pytest.fixture(scope="session")
def render() -> RenderFn:
    """``render(chart, values, ...) -> Manifests`` (memoised, see support/rendering.py)."""
    return _render


@pytest.fixture(scope="session")
def render_error() -> RenderErrorFn:
    """``render_error(chart, values, ...) -> str``: helm's message for a render that must fail."""
    return _render_error
