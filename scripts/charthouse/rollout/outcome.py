"""How a rollout command ends, and the exit code of each ending.

CI needs to tell "the new version serves" from "the new version was refused and the
old one serves" from "the command could not finish": the first is success, the
second a failed deploy with nothing to clean up, the third a job to re-run (it
resumes). The numbers are the CLI's (:class:`charthouse.errors.ExitCode`).
"""

from __future__ import annotations

from enum import StrEnum

from charthouse.errors import ExitCode


class Outcome(StrEnum):
    """Where a rollout stands when a command returns."""

    PROMOTED = "promoted"
    """The new version serves all traffic (or there was nothing to roll out)."""
    ABORTED = "aborted"
    """A gate failed or an abort was asked; the previous version serves all traffic."""
    PAUSED = "paused"
    """Waiting for ``charthouse rollout promote`` (blueGreen with ``autoPromote: false``)."""
    RUNNING = "running"
    """In progress (``status`` only, or a command that was interrupted)."""
    ERROR = "error"
    """The command could not finish a step (helm, the API, a timeout not caused by the
    new version); the rollout is kept where it is, and running the command again resumes."""


EXIT_CODES: dict[Outcome, ExitCode] = {
    Outcome.PROMOTED: ExitCode.OK,
    Outcome.ABORTED: ExitCode.ROLLOUT_ABORTED,
    Outcome.PAUSED: ExitCode.ROLLOUT_PAUSED,
    Outcome.RUNNING: ExitCode.TOOL_FAILED,
    Outcome.ERROR: ExitCode.TOOL_FAILED,
}


def exit_code(outcome: Outcome, *, command: str) -> ExitCode:
    """The exit code for ``outcome`` at the end of ``command``."""
    if command == "abort" and outcome is Outcome.ABORTED:
        return ExitCode.OK  # the abort asked for was done
    return EXIT_CODES[outcome]
