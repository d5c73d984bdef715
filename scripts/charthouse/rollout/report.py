"""What a rollout command shows: progress while it runs (stderr, one line per event, so
CI logs read as well as a terminal), and its result on stdout, as text or JSON."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from charthouse.rollout.outcome import Outcome
from charthouse.rollout.state import GateResult, Record
from charthouse.rollout.steps import Step

PROGRESS_EVERY_SECONDS = 10.0


@dataclass
class TextProgress:
    """Progress lines on ``stream``; a waiting gate says what it waits for every 10 s."""

    stream: TextIO = field(default_factory=lambda: sys.stderr)
    quiet: bool = False
    _last: float = field(default=0.0, init=False)
    _started: float = field(default_factory=time.monotonic, init=False)

    def _print(self, text: str) -> None:
        if not self.quiet:
            elapsed = time.monotonic() - self._started
            print(f"{elapsed:6.1f}s {text}", file=self.stream, flush=True)

    def step(self, phase: str, index: int, total: int, step: Step) -> None:
        prefix = "abort " if phase == "abort" else ""
        self._print(f"[{prefix}{index + 1}/{total}] {step.label}")
        self._last = time.monotonic()

    def progress(self, message: str) -> None:
        if time.monotonic() - self._last >= PROGRESS_EVERY_SECONDS:
            self._print(f"        ... {message}")
            self._last = time.monotonic()

    def gate(self, result: GateResult) -> None:
        verdict = "ok" if result.passed else "FAILED"
        self._print(f"        {verdict}: {result.detail} ({result.seconds:.1f}s)")

    def note(self, message: str) -> None:
        self._print(f"        {message}")


@dataclass(frozen=True)
class Result:
    """The answer of a command: where the release stands now."""

    release: str
    namespace: str
    strategy: str
    outcome: Outcome
    revision: int
    serving: str
    message: str
    record: Record | None = None
    duration_seconds: float | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "release": self.release,
            "namespace": self.namespace,
            "strategy": self.strategy,
            "outcome": self.outcome.value,
            "revision": self.revision,
            "serving": self.serving,
            "message": self.message,
        }
        if self.duration_seconds is not None:
            data["durationSeconds"] = round(self.duration_seconds, 1)
        record = self.record
        if record is not None:
            phase, steps, index = record.current_steps
            data["rollout"] = {
                "id": record.id,
                "from": record.from_version,
                "to": record.to_version,
                "stableTrack": record.stable_track,
                "newTrack": record.new_track,
                "phase": phase,
                "step": min(index + 1, len(steps)),
                "steps": len(steps),
                "current": steps[index].label if index < len(steps) else "",
                "reason": record.reason,
                "abortRequested": record.abort_requested,
                "startedAt": record.started_at,
                "finishedAt": record.finished_at,
                "preRevision": record.pre_revision,
                "lastGate": record.gates[-1].to_json() if record.gates else None,
                "gates": [g.to_json() for g in record.gates],
            }
        return data


def serving(strategy: str, values: Mapping[str, Any]) -> str:
    """What takes traffic now: the active colour, or the canary weight."""
    rollout = values.get("rollout") or {}
    if strategy == "blueGreen":
        colour = str((rollout.get("blueGreen") or {}).get("activeColor", "blue"))
        tag = ((rollout.get("blueGreen") or {}).get(colour) or {}).get("tag") or (
            (values.get("image") or {}).get("tag", "")
        )
        return f"{colour} ({tag})"
    canary = rollout.get("canary") or {}
    stable = (values.get("image") or {}).get("tag", "")
    weight = int(canary.get("weight") or 0)
    if not weight:
        return f"stable ({stable}), canary 0%"
    return f"stable ({stable}), canary {weight}% ({canary.get('tag') or stable})"


def render_text(result: Result) -> str:
    lines = [
        f"{result.outcome.value}: {result.message}",
        f"  release  {result.namespace}/{result.release} ({result.strategy}), revision "
        f"{result.revision}",
        f"  serving  {result.serving}",
    ]
    record = result.record
    if record is not None:
        phase, steps, index = record.current_steps
        lines.append(f"  rollout  {record.id}: {record.from_version} -> {record.to_version}")
        if not record.finished:
            where = steps[index].label if index < len(steps) else "done"
            lines.append(f"  {phase:8} step {min(index + 1, len(steps))}/{len(steps)}: {where}")
        if record.reason:
            lines.append(f"  reason   {record.reason}")
        if record.gates:
            last = record.gates[-1]
            lines.append(
                f"  gate     {last.gate}: {'passed' if last.passed else 'failed'}: {last.detail}"
            )
    if result.duration_seconds is not None:
        lines.append(f"  took     {result.duration_seconds:.1f}s")
    return "\n".join(lines)


def render(result: Result, output: str) -> str:
    if output == "json":
        return json.dumps(result.to_json(), indent=2)
    return render_text(result)
