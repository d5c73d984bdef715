"""How failures reach the shell: the exit codes, and the errors the CLI turns into them.

Anything a user can cause (bad values, a broken Chart.yaml, a missing tool) raises
:class:`CharthouseError` (or :class:`ToolError`); the CLI prints it as one
``charthouse: ...`` line and exits with its code. Anything else is a bug and keeps
its traceback. The README lists the codes; scripts and CI may rely on them.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Every exit status the ``charthouse`` command uses (chart-testing's and pip's spirit:
    few codes, each with one meaning)."""

    OK = 0
    """Done; every check passed."""
    CHECK_FAILED = 1
    """A check ran and found problems (``validate``, ``docs --check``, ``cluster status``)."""
    BAD_INPUT = 2
    """Bad usage or input: a flag, a values file, a Chart.yaml, an index, a refused release."""
    TOOL_FAILED = 3
    """A program charthouse runs (go, helm, git, gpg, ...) is missing, failed or timed out;
    ``rollout``: a step could not finish (run the command again: it resumes)."""
    ROLLOUT_ABORTED = 4
    """``rollout``: the new version failed a gate (or an abort was asked) and the previous
    version serves again."""
    ROLLOUT_PAUSED = 5
    """``rollout``: stopped where the values ask for ``charthouse rollout promote``."""
    INTERRUPTED = 130
    """Stopped by Ctrl-C (128 + SIGINT, as shells report it)."""


class CharthouseError(Exception):
    """A user-facing failure: the message names the file/field/tool at fault."""

    exit_code: int = ExitCode.BAD_INPUT

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class ToolError(CharthouseError):
    """An external program is missing, exited non-zero or timed out; the message names
    the command and carries the tail of its output."""

    exit_code: int = ExitCode.TOOL_FAILED
