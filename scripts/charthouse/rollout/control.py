"""The four commands: ``start``, ``promote``, ``abort``, ``status``.

Everything a user can get wrong is checked before the first write (the release, its
chart, the strategy, the values, a rollout already running), so bad input changes
nothing and exits 2; from the first write on, the record in the cluster says where
the rollout is.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from charthouse import paths
from charthouse import values as chart_values
from charthouse.errors import CharthouseError
from charthouse.rollout import helm as helm_
from charthouse.rollout import lease, overrides, report, settings, state, strategies
from charthouse.rollout.engine import Engine, Reporter
from charthouse.rollout.kube import Cluster
from charthouse.rollout.outcome import Outcome
from charthouse.rollout.state import Record, Store

APP_CHART = "app"
ABORT_WAIT_POLL_SECONDS = 2.0


@dataclass(frozen=True)
class Options:
    release: str
    namespace: str
    chart: str = ""
    chart_version: str = ""
    values_files: Sequence[Path] = ()
    set_values: Sequence[str] = ()
    reuse_values: bool = False
    helm_major: int = 4
    kubeconfig: Path | None = None
    reason: str = ""


@dataclass
class Target:
    """The release a command acts on, checked to exist and to run the app chart."""

    options: Options
    helm: helm_.Release
    metadata: helm_.Metadata
    cluster: Cluster
    store: Store
    manifest: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.options.release

    def result(
        self,
        outcome: Outcome,
        message: str,
        record: Record | None = None,
        duration: float | None = None,
    ) -> report.Result:
        current = self.helm.values(computed=True)
        meta = self.helm.metadata() or self.metadata
        strategy = str(settings.dig(current, "rollout.strategy", "rolling"))
        return report.Result(
            release=self.name,
            namespace=self.options.namespace,
            strategy=strategy,
            outcome=outcome,
            revision=meta.revision,
            serving=report.serving(strategy, current),
            message=message,
            record=record,
            duration_seconds=duration,
        )


def _helm_binary(major: int) -> Path:
    from charthouse.tools import ensure_tool

    return ensure_tool(f"helm{major}")


def open_target(options: Options) -> Target:
    """The release, or a one-line error: not found, or not the app chart."""
    binary = _helm_binary(options.helm_major)
    release = helm_.Release(options.release, options.namespace, binary, options.kubeconfig)
    meta = release.metadata()
    if meta is None:
        raise CharthouseError(
            f"release {options.release!r} not found in namespace {options.namespace!r}"
        )
    if meta.chart != APP_CHART:
        raise CharthouseError(
            f"release {options.release!r} runs chart {meta.chart} {meta.chart_version}: "
            f"`charthouse rollout` drives releases of the {APP_CHART} chart only"
        )
    cluster = Cluster.connect(options.namespace, options.kubeconfig)
    manifest = release.manifest()
    objects_main = [
        o["metadata"]["name"]
        for o in manifest
        if o.get("kind") == "Service"
        and (o["metadata"].get("labels") or {}).get("charthouse.dev/service") == "main"
    ]
    if not objects_main:
        raise CharthouseError(f"release {options.release!r} has no main Service in its manifest")
    service = cluster.get("Service", objects_main[0])
    if service is None:
        raise CharthouseError(
            f"release {options.release!r}: Service {objects_main[0]} is missing from the cluster"
        )
    store = Store(cluster, state.secret_name(objects_main[0]), service)
    return Target(options, release, meta, cluster, store, manifest)


def _engine(target: Target, record: Record, reporter: Reporter) -> Engine:
    return Engine(target.helm, target.cluster, target.store, record, reporter)


def _default_chart() -> str:
    chart = paths.CHARTS_DIR / APP_CHART
    if not (chart / "Chart.yaml").is_file():
        raise CharthouseError("--chart: required (no charts/app next to this charthouse)")
    return str(chart)


def _check_chart(binary: Path, chart: str, version: str) -> str:
    """``chart`` as helm will read it; refused unless it is the app chart."""
    local = Path(chart).expanduser()
    ref = str(local.resolve()) if (local / "Chart.yaml").is_file() else chart
    name = helm_.chart_name(binary, ref, version=version)
    if name != APP_CHART:
        raise CharthouseError(f"--chart {chart}: chart {name!r}, not the {APP_CHART} chart")
    return ref


def _describe(record: Record) -> str:
    phase, steps, index = record.current_steps
    where = steps[index].label if index < len(steps) else "its last step"
    versions = f"{record.from_version} -> {record.to_version}"
    return f"rollout {record.id} ({versions}) at {phase} step {index + 1}/{len(steps)}: {where}"


def start(options: Options, reporter: Reporter) -> report.Result:
    """Start a rollout to the version the values name, or resume the one in progress."""
    began = time.monotonic()
    target = open_target(options)
    stored = target.store.load()
    layers = chart_values.sources(options.values_files, set_values=options.set_values)
    current_user = target.helm.values()
    current = target.helm.values(computed=True)
    running_strategy = str(settings.dig(current, "rollout.strategy", "rolling"))

    chart = _check_chart(
        target.helm.binary, options.chart or _default_chart(), options.chart_version
    )
    defaults = helm_.chart_defaults(target.helm.binary, chart, version=options.chart_version)
    user: dict[str, Any] = {}
    for layer in layers:
        user = chart_values.deep_merge(user, layer.values, keep_null=True)
    if options.reuse_values:
        user = chart_values.deep_merge(current_user, user, keep_null=True)
    wanted = chart_values.deep_merge(defaults, user)
    rollout_settings = settings.read(wanted)
    if running_strategy != rollout_settings.strategy:
        raise CharthouseError(
            f"release {target.name!r} runs rollout.strategy {running_strategy}, the values ask "
            f"for {rollout_settings.strategy}: change strategies with helm upgrade first"
        )
    overrides.refuse_set_owned_keys(rollout_settings.strategy, layers)
    ignored = overrides.owned_keys(rollout_settings.strategy, layers)
    if (Path(chart) / "values.schema.json").is_file():
        from charthouse.charts import load_chart

        given = (
            [chart_values.ValuesSource("the release's values", current_user)]
            if options.reuse_values
            else []
        )
        problems = chart_values.schema_errors(load_chart(chart), [*given, *layers])
        if problems:
            raise CharthouseError(problems[0])
    version = str(settings.dig(wanted, "image.tag", ""))
    if not version:
        raise CharthouseError("image.tag: the version to roll out is required")

    if stored is not None and not stored.finished:
        if stored.aborting or stored.to_version == version:
            return resume(target, stored, reporter, began=began)
        raise CharthouseError(
            f"release {target.name!r}: {_describe(stored)} is in progress; "
            "`charthouse rollout promote` or `abort` it first"
        )

    for label, path in ignored:
        reporter.note(f"{label}: {path} is left to the rollout (it sets it in every revision)")
    rollout_values = overrides.apply(
        user, strategies.current_pins(rollout_settings.strategy, current_user)
    )
    serving = strategies.serving_version(rollout_settings.strategy, current)
    if version == serving:
        if rollout_values == current_user:
            return target.result(Outcome.PROMOTED, f"{version} already serves; nothing to do")
        plan = strategies.in_place(rollout_settings.strategy, current, version)
    else:
        plan = strategies.plan(rollout_settings, current, version)
    record = Record.begin(
        plan,
        release=target.name,
        chart=chart,
        chart_version=options.chart_version,
        settings=rollout_settings,
        values=rollout_values,
        snapshot=current_user,
        pre_revision=target.metadata.revision,
        traffic=report.serving(rollout_settings.strategy, current),
    )
    if stored is not None:
        record.lease_holder, record.lease_renewed = stored.lease_holder, stored.lease_renewed
    target.store.acquire(record)
    record.log(f"started: {plan.from_version} -> {plan.to_version} ({len(plan.steps)} steps)")
    reporter.note(
        f"rollout {record.id}: {plan.strategy} {plan.from_version} -> {plan.to_version}, "
        f"{len(plan.steps)} steps from revision {record.pre_revision}"
    )
    outcome = _engine(target, record, reporter).run()
    return target.result(outcome, _message(record, outcome), record, time.monotonic() - began)


def resume(
    target: Target, record: Record, reporter: Reporter, *, began: float, promote: bool = False
) -> report.Result:
    if record.outcome is Outcome.PAUSED and not promote and not record.abort_requested:
        return target.result(Outcome.PAUSED, _message(record, Outcome.PAUSED), record)
    target.store.acquire(record)
    reporter.note(f"resuming {_describe(record)}, with the settings it started with")
    outcome = _engine(target, record, reporter).run(promote=promote)
    return target.result(outcome, _message(record, outcome), record, time.monotonic() - began)


def promote(options: Options, reporter: Reporter) -> report.Result:
    """Go on with the rollout in progress: past a pause, or from where a command stopped."""
    began = time.monotonic()
    target = open_target(options)
    record = target.store.load()
    if record is None or record.finished:
        raise CharthouseError(f"release {target.name!r}: no rollout in progress to promote")
    if options.chart:
        record.chart = _check_chart(target.helm.binary, options.chart, options.chart_version)
    return resume(target, record, reporter, began=began, promote=True)


def abort(options: Options, reporter: Reporter) -> report.Result:
    """Roll back the rollout in progress: by the command driving it, if one runs.

    A command holding the lease is asked, and this one waits; it drives the abort itself
    only when the lease is free, its holder gone, or the holder stopped renewing it
    (:class:`charthouse.rollout.lease.Observer`)."""
    began = time.monotonic()
    target = open_target(options)
    record = target.store.load()
    if record is None or record.finished:
        raise CharthouseError(f"release {target.name!r}: no rollout in progress to abort")
    reason = options.reason or f"abort asked on {socket.gethostname()}"
    holder = lease.Observer()
    if holder.stopped(record.lease_holder, record.lease_renewed):
        record.abort_requested = record.abort_requested or reason
        return resume(target, record, reporter, began=began)
    target.store.request_abort(reason)
    reporter.note(f"asked {record.lease_holder} to abort: {reason}")
    while True:
        time.sleep(ABORT_WAIT_POLL_SECONDS)
        record = target.store.load()
        if record is None:
            raise CharthouseError(f"release {target.name!r}: the rollout record disappeared")
        if record.finished or record.outcome in (Outcome.ERROR, Outcome.PAUSED):
            return target.result(
                record.outcome, _message(record, record.outcome), record, time.monotonic() - began
            )
        if holder.stopped(record.lease_holder, record.lease_renewed):
            record.abort_requested = record.abort_requested or reason
            return resume(target, record, reporter, began=began)
        reporter.progress(f"waiting for {record.lease_holder}: {_describe(record)}")


def status(options: Options) -> report.Result:
    target = open_target(options)
    record = target.store.load()
    if record is None:
        return target.result(Outcome.PROMOTED, "no rollout recorded for this release")
    return target.result(record.outcome, _message(record, record.outcome), record)


def _message(record: Record, outcome: Outcome) -> str:
    if outcome is Outcome.PROMOTED:
        where = "stable" if record.strategy == "canary" else record.new_track
        return f"{record.to_version} serves ({where})"
    if outcome is Outcome.ABORTED:
        return (
            f"{record.from_version} serves again; {record.to_version} was refused: {record.reason}"
        )
    if outcome is Outcome.PAUSED:
        return f"{_describe(record)}; `charthouse rollout promote` goes on"
    if outcome is Outcome.ERROR:
        return f"stopped at {_describe(record)}: {record.reason}; run the command again to resume"
    lease = record.lease_state()
    if lease == "held":
        return f"{_describe(record)} (driven by {record.lease_holder})"
    return (
        f"{_describe(record)}; no command drives it ({lease}): "
        "`charthouse rollout promote` resumes it, `abort` rolls it back"
    )
