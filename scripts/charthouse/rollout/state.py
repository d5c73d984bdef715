"""The record of a rollout, kept in the cluster next to the release it drives.

One Secret per release, ``<main Service>-rollout``, owned by the release's main
Service: ``helm uninstall`` removes it with the release (garbage collection), and
any machine with the kubeconfig sees the same record. A Secret, not a ConfigMap,
because it keeps the release's values, which may hold secrets (helm keeps them in
Secrets too).

The record carries a lease (:mod:`charthouse.rollout.lease`): the command driving the
rollout renews it; another command refuses to drive the same release while it is
held, takes over once it has expired or its holder (on this machine) is gone, and may
always ask the holder to abort (``abortRequested``).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from charthouse.errors import CharthouseError, ExitCode
from charthouse.rollout import lease
from charthouse.rollout.kube import ConflictError, Obj
from charthouse.rollout.outcome import Outcome
from charthouse.rollout.settings import Settings
from charthouse.rollout.steps import Step, plan_from_json, plan_to_json
from charthouse.rollout.strategies import Plan

RECORD_VERSION = 1
DATA_KEY = "rollout.json"
KEEP_GATES = 20
KEEP_EVENTS = 100


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


@dataclass(frozen=True)
class GateResult:
    """One gate's verdict, with the evidence a human needs."""

    gate: str
    passed: bool
    detail: str
    at: str = field(default_factory=now_iso)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "seconds": round(self.seconds, 1)}


@dataclass
class Record:
    """Everything about one rollout of one release."""

    id: str
    release: str
    strategy: str
    chart: str
    chart_version: str
    from_version: str
    to_version: str
    stable_track: str
    new_track: str
    settings: Settings
    values: dict[str, Any]
    snapshot: dict[str, Any]
    pre_revision: int
    plan: list[Step]
    next: int = 0
    aborting: bool = False
    abort_plan: list[Step] = field(default_factory=list)
    abort_next: int = 0
    switched: bool = False
    outcome: Outcome = Outcome.RUNNING
    reason: str = ""
    revision: int = 0
    traffic: str = ""
    gates: list[GateResult] = field(default_factory=list)
    events: list[dict[str, str]] = field(default_factory=list)
    started_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    finished_at: str = ""
    abort_requested: str = ""
    lease_holder: str = ""
    lease_renewed: float = 0.0

    @classmethod
    def begin(
        cls,
        plan: Plan,
        *,
        release: str,
        chart: str,
        chart_version: str,
        settings: Settings,
        values: dict[str, Any],
        snapshot: dict[str, Any],
        pre_revision: int,
        traffic: str,
    ) -> Record:
        return cls(
            id=new_id(),
            release=release,
            strategy=plan.strategy,
            chart=chart,
            chart_version=chart_version,
            from_version=plan.from_version,
            to_version=plan.to_version,
            stable_track=plan.stable_track,
            new_track=plan.new_track,
            settings=settings,
            values=values,
            snapshot=snapshot,
            pre_revision=pre_revision,
            plan=list(plan.steps),
            revision=pre_revision,
            traffic=traffic,
        )

    def as_plan(self) -> Plan:
        return Plan(
            self.strategy,
            self.from_version,
            self.to_version,
            self.stable_track,
            self.new_track,
            list(self.plan),
        )

    @property
    def finished(self) -> bool:
        """Over: promoted, aborted, or refused before its first revision."""
        return self.outcome in (Outcome.PROMOTED, Outcome.ABORTED) or bool(self.finished_at)

    def lease_state(self, now: float | None = None) -> lease.State:
        """The lease's :func:`charthouse.rollout.lease.state` at ``now`` (default: the time)."""
        return lease.state(
            self.lease_holder, self.lease_renewed, time.time() if now is None else now
        )

    @property
    def current_steps(self) -> tuple[str, list[Step], int]:
        """("plan" or "abort", its steps, the index of the next one)."""
        if self.aborting:
            return "abort", self.abort_plan, self.abort_next
        return "plan", self.plan, self.next

    def log(self, message: str) -> None:
        self.events.append({"at": now_iso(), "message": message})
        del self.events[:-KEEP_EVENTS]

    def record_gate(self, result: GateResult) -> None:
        self.gates.append(result)
        del self.gates[:-KEEP_GATES]

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["settings"] = self.settings.to_json()
        data["plan"] = plan_to_json(self.plan)
        data["abort_plan"] = plan_to_json(self.abort_plan)
        data["outcome"] = self.outcome.value
        data["gates"] = [g.to_json() for g in self.gates]
        return {"recordVersion": RECORD_VERSION, **data}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Record:
        fields = {k: v for k, v in data.items() if k != "recordVersion"}
        fields["settings"] = Settings.from_json(fields["settings"])
        fields["plan"] = plan_from_json(fields["plan"])
        fields["abort_plan"] = plan_from_json(fields.get("abort_plan", []))
        fields["outcome"] = Outcome(fields["outcome"])
        fields["gates"] = [GateResult(**g) for g in fields.get("gates", [])]
        return cls(**fields)


class BusyError(CharthouseError):
    """Another command holds the release's lease."""


class LeaseLostError(CharthouseError):
    """Another command took the lease over: this one must stop at once."""

    exit_code = ExitCode.TOOL_FAILED


def secret_name(main_service: str) -> str:
    return f"{main_service}-rollout"[:63].rstrip("-")


class SecretApi(Protocol):
    """What the record needs of one namespace: :class:`charthouse.rollout.kube.Cluster`,
    or a fake in the unit tests."""

    namespace: str

    def get(self, kind: str, name: str) -> Obj | None: ...

    def create_secret(self, body: Obj) -> Obj: ...

    def replace_secret(self, body: Obj) -> Obj: ...


@dataclass
class Store:
    """Reads and writes one release's record; the Secret's resourceVersion guards writes."""

    cluster: SecretApi
    name: str
    owner: Obj
    holder: str = field(default_factory=lease.holder_id)
    # Wall-clock seconds, as other machines read the lease (time.time; tests inject one).
    now: Callable[[], float] = time.time
    # How often the helper thread of :meth:`renewing` looks at the lease (real seconds).
    keeper_poll_seconds: float = 1.0
    _resource_version: str = ""

    def load(self) -> Record | None:
        found = self.cluster.get("Secret", self.name)
        if found is None:
            self._resource_version = ""
            return None
        self._resource_version = found["metadata"].get("resourceVersion", "")
        raw = (found.get("data") or {}).get(DATA_KEY)
        if not raw:
            return None
        try:
            data = json.loads(base64.b64decode(raw))
            if data.get("recordVersion") != RECORD_VERSION:
                raise ValueError(f"record version {data.get('recordVersion')}")
            return Record.from_json(data)
        except (ValueError, KeyError, TypeError) as exc:
            raise CharthouseError(
                f"secret {self.cluster.namespace}/{self.name}: unreadable rollout record "
                f"({exc}); delete it to start afresh"
            ) from exc

    def save(self, record: Record) -> None:
        record.updated_at = now_iso()
        payload = base64.b64encode(json.dumps(record.to_json()).encode()).decode()
        meta = self.owner["metadata"]
        body: Obj = {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {
                "name": self.name,
                "namespace": self.cluster.namespace,
                "labels": {
                    "app.kubernetes.io/instance": record.release,
                    "app.kubernetes.io/managed-by": "charthouse",
                    "app.kubernetes.io/component": "rollout",
                },
                "ownerReferences": [
                    {
                        "apiVersion": "v1",
                        "kind": "Service",
                        "name": meta["name"],
                        "uid": meta["uid"],
                    }
                ],
            },
            "data": {DATA_KEY: payload},
        }
        if self._resource_version:
            body["metadata"]["resourceVersion"] = self._resource_version
            saved = self.cluster.replace_secret(body)
        else:
            saved = self.cluster.create_secret(body)
        self._resource_version = saved["metadata"]["resourceVersion"]

    def acquire(self, record: Record) -> None:
        """Take the lease on ``record`` (as just loaded), or raise :class:`BusyError`."""
        holder, now = record.lease_holder, self.now()
        if holder != self.holder and record.lease_state(now) == "held":
            left = lease.seconds_left(record.lease_renewed, now)
            raise BusyError(
                f"release {record.release}: another `charthouse rollout` ({holder}) is driving "
                f"rollout {record.id}; wait for it, ask it to stop with `charthouse rollout "
                f"abort`, or retry in {left:.0f}s if it was killed"
            )
        record.lease_holder = self.holder
        record.lease_renewed = now
        try:
            self.save(record)
        except ConflictError as exc:
            raise BusyError(
                f"release {record.release}: another command changed the rollout record "
                "at the same moment; retry"
            ) from exc

    def _sync(self, record: Record) -> None:
        """Re-read the stored record: still ours? Take over its abort request."""
        found = self.load()
        if found is None or found.lease_holder != self.holder:
            raise LeaseLostError(
                f"release {record.release}: the rollout lease was taken over "
                f"({found.lease_holder if found else 'record deleted'}); stopping"
            )
        record.abort_requested = found.abort_requested

    def commit(self, record: Record) -> None:
        """Save ``record`` as its lease holder, keeping an abort request written meanwhile.

        Every write of the holder renews the lease: the time it saves is the time the
        lease was last renewed, so a renewal is due :data:`lease.RENEW_EVERY` after it."""
        for _ in range(5):
            record.lease_renewed = self.now()
            try:
                self.save(record)
            except ConflictError:
                self._sync(record)
                continue
            return
        raise LeaseLostError(
            f"release {record.release}: the rollout record keeps changing; stopping"
        )

    def heartbeat(self, record: Record) -> str:
        """Renew the lease when due; return an abort reason another command asked for.

        Reads the record each time (cheap), so an abort request is seen within a poll."""
        self._sync(record)
        if lease.renewal_due(record.lease_renewed, self.now()):
            self.commit(record)
        return record.abort_requested

    @contextlib.contextmanager
    def renewing(self, record: Record) -> Iterator[None]:
        """Keep the lease on ``record`` while this thread blocks in a call that may outlast
        it (helm upgrade, a chart build): a helper thread renews it when due.

        The caller must leave ``record`` alone until the block ends (the helper writes
        it); a takeover the helper found is raised when it does."""
        stop = threading.Event()
        lost: list[LeaseLostError] = []

        def keep() -> None:
            while not stop.wait(self.keeper_poll_seconds):
                try:
                    self.heartbeat(record)
                except LeaseLostError as exc:
                    lost.append(exc)
                    return
                except CharthouseError:
                    continue  # the API server blinked; the next poll tries again

        keeper = threading.Thread(target=keep, name=f"lease of {self.name}", daemon=True)
        keeper.start()
        try:
            yield
        finally:
            stop.set()
            keeper.join()
        if lost:
            raise lost[0]

    def release(self, record: Record) -> None:
        """Give the lease up (best effort: it expires by itself anyway)."""
        if record.lease_holder != self.holder:
            return
        record.lease_holder = ""
        record.lease_renewed = 0.0
        with contextlib.suppress(CharthouseError):
            self.save(record)

    def request_abort(self, reason: str) -> Record | None:
        """Ask whoever drives the rollout to abort it (retrying lost races)."""
        for _ in range(5):
            record = self.load()
            if record is None:
                return None
            record.abort_requested = reason
            try:
                self.save(record)
            except ConflictError:
                continue
            return record
        raise BusyError("could not record the abort request (the record kept changing); retry")
