"""Every subprocess charthouse starts goes through here: timeouts, captured output,
and failures turned into a :class:`ToolError` (exit code 3) that names the command."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from charthouse.errors import ToolError

Command = Sequence[str | Path]


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def describe(cmd: Command) -> str:
    """A copy-pasteable rendering of ``cmd`` for error messages."""
    return shlex.join(str(part) for part in cmd)


def run(
    cmd: Command,
    *,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 300.0,
    input: str | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` capturing stdout/stderr as text.

    ``env`` is merged over the current environment. With ``check`` a non-zero exit
    raises :class:`ToolError` carrying the tail of stderr, so callers never
    show a Python traceback for a tool's failure.
    """
    args = [str(part) for part in cmd]
    full_env = {**os.environ, **env} if env is not None else None
    try:
        result = subprocess.run(
            args,
            cwd=cwd,
            env=full_env,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise ToolError(f"{args[0]}: not found (needed to run: {describe(args)})") from exc
    except subprocess.TimeoutExpired as exc:
        raise ToolError(f"timed out after {timeout:.0f}s: {describe(args)}") from exc
    if check and result.returncode != 0:
        detail = _tail(result.stderr) or _tail(result.stdout)
        raise ToolError(f"command failed (exit {result.returncode}): {describe(args)}\n{detail}")
    return result
