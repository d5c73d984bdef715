"""Runs a rollout's plan step by step, saving the record after each one.

Resuming is the normal case, not a special one: the record says which step is next,
and an ``Apply`` step first looks in ``helm history`` for the revision it may already
have made before the previous command died (its description names the rollout and
the step). A revision left ``pending-*`` by a killed helm is rolled back to the last
good one, then the step is made again.

A failed gate, or an abort asked by another command, switches to the abort plan,
which is run the same way (and resumed the same way).

The lease is kept through every wait: each poll of a wait loop goes through ``_tick``
(which renews it when due), and each helm call, which blocks and may outlast it, runs
inside ``Store.renewing``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from charthouse.errors import CharthouseError
from charthouse.rollout import gates, overrides, rotation, strategies
from charthouse.rollout import helm as helm_
from charthouse.rollout.outcome import Outcome
from charthouse.rollout.settings import dig
from charthouse.rollout.state import GateResult, LeaseLostError, Record, Store, now_iso
from charthouse.rollout.steps import (
    Apply,
    Hold,
    Pause,
    SmokeTest,
    Step,
    WaitReady,
    WaitTraffic,
    Watch,
)

# How long a pending revision may still belong to a live helm (one killed with its
# parent keeps running) before it counts as abandoned and is rolled back.
PENDING_GRACE_SECONDS = 60.0
T = TypeVar("T")


class ReleaseHelm(Protocol):
    """What the engine asks of helm (:class:`charthouse.rollout.helm.Release`)."""

    @property
    def binary(self) -> Path: ...

    def metadata(self) -> helm_.Metadata | None: ...

    def values(self, *, computed: bool = False, revision: int | None = None) -> dict[str, Any]: ...

    def manifest(self) -> list[dict[str, Any]]: ...

    def hooks(self) -> list[dict[str, Any]]: ...

    def history(self, limit: int = 20) -> list[helm_.Revision]: ...

    def upgrade(
        self, chart: str, values: Mapping[str, Any], *, description: str, chart_version: str = ""
    ) -> None: ...

    def rollback(self, revision: int, *, description: str = "") -> None: ...

    def render(
        self, chart: str, values: Mapping[str, Any], *, chart_version: str = ""
    ) -> list[dict[str, Any]]: ...


class Reporter(Protocol):
    def step(self, phase: str, index: int, total: int, step: Step) -> None: ...

    def progress(self, message: str) -> None: ...

    def gate(self, result: GateResult) -> None: ...

    def note(self, message: str) -> None: ...


class AbortRequestedError(Exception):
    """Raised out of a gate's poll when another command asked for an abort."""


@dataclass
class Engine:
    helm: ReleaseHelm
    api: gates.Api
    store: Store
    record: Record
    reporter: Reporter
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    poll_seconds: float = 2.0
    _objects: gates.Objects | None = field(default=None, init=False)
    _chart_ready: bool = field(default=False, init=False)

    # -- driving ---------------------------------------------------------------------

    def run(self, *, promote: bool = False) -> Outcome:
        """Run from the record's next step until promoted, aborted, paused or stuck."""
        record = self.record
        record.outcome = Outcome.RUNNING
        try:
            while True:
                phase, plan, index = record.current_steps
                if index >= len(plan):
                    return self._finish()
                step = plan[index]
                if record.abort_requested and not record.aborting:
                    self._begin_abort(record.abort_requested)
                    continue
                if isinstance(step, Pause):
                    if not promote:
                        return self._pause(step)
                    promote = False  # one promote passes one pause
                    record.log(f"promoted past: {step.label}")
                    self._advance()
                    continue
                self.reporter.step(phase, index, len(plan), step)
                try:
                    result = self._execute(phase, index, step)
                except AbortRequestedError:
                    if record.aborting:
                        continue
                    self._begin_abort(record.abort_requested)
                    continue
                if result is not None:
                    record.record_gate(result)
                    self.reporter.gate(result)
                    if not result.passed:
                        if record.aborting:
                            return self._error(f"{step.label}: {result.detail}")
                        self._begin_abort(f"{step.label}: {result.detail}")
                        continue
                self._advance()
        except LeaseLostError:
            raise
        except CharthouseError as exc:
            return self._error(str(exc))
        except (KeyboardInterrupt, SystemExit):
            record.log("interrupted; run the command again to resume")
            record.reason = "interrupted"
            self.store.release(record)
            raise

    def _advance(self) -> None:
        record = self.record
        if record.aborting:
            record.abort_next += 1
        else:
            record.next += 1
        self.store.commit(record)

    def _finish(self) -> Outcome:
        record = self.record
        record.outcome = Outcome.ABORTED if record.aborting else Outcome.PROMOTED
        record.finished_at = now_iso()
        record.log(f"{record.outcome.value} at revision {record.revision}")
        self.store.release(record)
        return record.outcome

    def _pause(self, step: Pause) -> Outcome:
        record = self.record
        record.outcome = Outcome.PAUSED
        record.log(step.label)
        self.reporter.note(f"{step.label}: run `charthouse rollout promote` to go on")
        self.store.release(record)
        return Outcome.PAUSED

    def _error(self, reason: str) -> Outcome:
        record = self.record
        record.outcome = Outcome.ERROR
        record.reason = reason
        record.log(f"stopped: {reason}")
        if not record.aborting and record.next == 0 and record.revision == record.pre_revision:
            # The first revision was refused (helm, the schema): nothing changed, so the
            # rollout is over and the next `start` begins afresh.
            record.finished_at = now_iso()
            record.reason = f"nothing was changed: {reason}"
        self.store.release(record)
        return Outcome.ERROR

    def _begin_abort(self, reason: str) -> None:
        record = self.record
        live = self._renewing(lambda: self.helm.values(computed=True))
        switched = (
            record.strategy == "blueGreen"
            and dig(live, "rollout.blueGreen.activeColor") == record.new_track
        )
        record.aborting = True
        record.reason = reason
        record.abort_plan = strategies.abort_steps(
            record.as_plan(), record.settings, switched=switched
        )
        record.abort_next = 0
        record.log(f"aborting: {reason}")
        self.reporter.note(f"aborting: {reason}")
        self.store.commit(record)

    # -- steps -----------------------------------------------------------------------

    def _renewing(self, call: Callable[[], T]) -> T:
        """``call`` (helm, a chart build) with the lease kept while it blocks: one may take
        longer than the lease (an upgrade on a busy API server, a dependency build)."""
        with self.store.renewing(self.record):
            return call()

    def _tick(self, message: str) -> None:
        reason = self.store.heartbeat(self.record)
        if reason and not self.record.aborting:
            raise AbortRequestedError(reason)
        self.reporter.progress(message)

    def _context(self) -> gates.Context:
        if self._objects is None:
            manifest, hooks = self._renewing(lambda: (self.helm.manifest(), self.helm.hooks()))
            self._objects = gates.Objects.from_manifest(manifest, hooks)
        return gates.Context(
            api=self.api,
            objects=self._objects,
            settings=self.record.settings,
            release=self.record.release,
            version=self.record.to_version,
            tick=self._tick,
            clock=self.clock,
            sleep=self.sleep,
            poll_seconds=self.poll_seconds,
        )

    def _execute(self, phase: str, index: int, step: Step) -> GateResult | None:
        if isinstance(step, Apply):
            self._apply(phase, index, step)
            return None
        if isinstance(step, Hold):
            end = self.clock() + step.seconds
            while self.clock() < end:
                self._tick(f"{step.label}: {end - self.clock():.0f}s left")
                self.sleep(min(self.poll_seconds, max(0.0, end - self.clock())))
            return None
        ctx = self._context()
        if isinstance(step, WaitReady):
            return gates.ready(ctx, step.tracks)
        if isinstance(step, WaitTraffic):
            return gates.traffic(ctx, step.track)
        if isinstance(step, SmokeTest):
            return gates.smoke_test(ctx, step.service)
        if isinstance(step, Watch):
            return gates.watch(ctx, step.track)
        raise AssertionError(f"unhandled step {step!r}")

    def _apply(self, phase: str, index: int, step: Apply) -> None:
        record = self.record
        marker = helm_.description(record.id, phase, index, step.label)
        done = helm_.applied(self._renewing(self.helm.history), marker)
        if done is not None:
            record.log(f"revision {done.revision} already made: {step.label}")
            record.revision = done.revision
            if self._context().objects.rotation:
                rotation.take_out(self._context(), {}, self.reporter)  # stragglers back in
        else:
            base = record.snapshot if step.restore else record.values
            values = overrides.apply(base, step.change)
            self._recover_pending(values)
            self._prepare_chart()
            removal = self._out_of_rotation(values)
            meta = self._renewing(lambda: self._upgrade(values, marker))
            record.revision = meta.revision if meta else record.revision
            record.log(f"revision {record.revision}: {step.label}")
            if removal:
                rotation.settle(self._context(), removal, self.reporter)
        record.traffic = step.traffic
        self._objects = None  # names and the test pod are read again after each revision
        self.reporter.note(f"revision {record.revision}")

    def _upgrade(self, values: Mapping[str, Any], marker: str) -> helm_.Metadata | None:
        """One revision with exactly ``values``; the release's metadata after it."""
        record = self.record
        self.helm.upgrade(
            record.chart, values, description=marker, chart_version=record.chart_version
        )
        return self.helm.metadata()

    def _out_of_rotation(self, values: Mapping[str, Any]) -> rotation.Removal:
        """Before a revision that scales a Deployment down: the pods it will remove leave
        every Service first (:mod:`charthouse.rollout.rotation`)."""
        ctx = self._context()
        if not ctx.objects.rotation:
            return rotation.Removal(())
        record = self.record
        rendered = self._renewing(
            lambda: self.helm.render(record.chart, values, chart_version=record.chart_version)
        )
        planned = rotation.planned_replicas(rendered)
        removal = rotation.take_out(ctx, planned, self.reporter)
        if removal:
            self.record.log(f"out of rotation before the revision: {', '.join(removal.pods)}")
        return removal

    def _prepare_chart(self) -> None:
        """A chart directory gets its ``file://`` dependencies built (as helm needs them)."""
        if self._chart_ready:
            return
        chart = Path(self.record.chart)
        if (chart / "Chart.yaml").is_file():
            from charthouse.chartdeps import ensure_dependencies

            self._renewing(lambda: ensure_dependencies(chart, self.helm.binary))
        self._chart_ready = True

    def _recover_pending(self, values: Mapping[str, Any]) -> None:
        """Roll back a revision a killed helm of this step left pending (its values are
        this step's); another's pending revision is not ours to undo."""
        meta = self._renewing(self.helm.metadata)
        if meta is None or not meta.pending:
            return
        begin = self.clock()
        while meta is not None and meta.pending and self.clock() - begin < PENDING_GRACE_SECONDS:
            self._tick(f"revision {meta.revision} is {meta.status}: waiting for its helm")
            self.sleep(self.poll_seconds)
            meta = self._renewing(self.helm.metadata)
        if meta is None or not meta.pending:
            return
        pending = meta.revision
        if self._renewing(lambda: self.helm.values(revision=pending)) != dict(values):
            raise CharthouseError(
                f"revision {meta.revision} is {meta.status} and was not made by this rollout; "
                "wait for the helm that makes it, or fix the release with `helm rollback`"
            )
        good = [
            r.revision
            for r in self._renewing(lambda: self.helm.history(limit=50))
            if r.revision < meta.revision and r.status in ("deployed", "superseded")
        ]
        if not good:
            raise CharthouseError(
                f"revision {meta.revision} is {meta.status} and no earlier revision deployed; "
                "fix the release with helm first"
            )
        self.record.log(
            f"revision {meta.revision} was left {meta.status}: rolling back to {good[-1]}"
        )
        self.reporter.note(
            f"revision {meta.revision} was left {meta.status}; rollback to {good[-1]}"
        )
        self._renewing(lambda: self.helm.rollback(good[-1]))
