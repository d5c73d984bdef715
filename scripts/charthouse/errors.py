"""The one error type the CLI turns into a clean one-line message and exit code 2.

Anything a user can cause (bad values, a broken Chart.yaml, a missing tool)
raises :class:`CharthouseError`; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class CharthouseError(Exception):
    """A user-facing failure: the message names the file/field/tool at fault."""

    exit_code: int = 2

    def __init__(self, message: str, *, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
