"""The steps a rollout plan is made of: data only, stored in the state record.

A plan is fixed when the rollout starts and kept with it, so a resumed command does
exactly what the interrupted one would have done, even if the values or the
command's defaults changed in between.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from charthouse.rollout.overrides import Change


@dataclass(frozen=True)
class Apply:
    """``helm upgrade`` with the rollout's values (or, ``restore``, the values from before
    the rollout) and ``change`` made; ``traffic`` says what serves afterwards."""

    label: str
    change: Change
    traffic: str
    restore: bool = False
    switches: bool = False
    kind: ClassVar[str] = "apply"

    def fields(self) -> dict[str, Any]:
        return {
            "change": self.change.to_json(),
            "traffic": self.traffic,
            "restore": self.restore,
            "switches": self.switches,
        }


@dataclass(frozen=True)
class WaitReady:
    """Gate: the Deployments of ``tracks`` are rolled out and every pod is ready."""

    label: str
    tracks: tuple[str, ...]
    kind: ClassVar[str] = "ready"

    def fields(self) -> dict[str, Any]:
        return {"tracks": list(self.tracks)}


@dataclass(frozen=True)
class SmokeTest:
    """Gate: a pod in the cluster requests the Service with role ``service``."""

    label: str
    service: str
    kind: ClassVar[str] = "smoke"

    def fields(self) -> dict[str, Any]:
        return {"service": self.service}


@dataclass(frozen=True)
class WaitTraffic:
    """Gate: the main Service's ready endpoints are all pods of ``track``."""

    label: str
    track: str
    kind: ClassVar[str] = "traffic"

    def fields(self) -> dict[str, Any]:
        return {"track": self.track}


@dataclass(frozen=True)
class Watch:
    """Gate: for the window, ``track`` stays ready, within its restarts, and the
    Prometheus query (if any) within bounds."""

    label: str
    track: str
    kind: ClassVar[str] = "watch"

    def fields(self) -> dict[str, Any]:
        return {"track": self.track}


@dataclass(frozen=True)
class Hold:
    """Wait ``seconds`` (the pods that lost traffic keep running meanwhile)."""

    label: str
    seconds: int
    kind: ClassVar[str] = "hold"

    def fields(self) -> dict[str, Any]:
        return {"seconds": self.seconds}


@dataclass(frozen=True)
class Pause:
    """Stop here until ``charthouse rollout promote``."""

    label: str
    kind: ClassVar[str] = "pause"

    def fields(self) -> dict[str, Any]:
        return {}


Step = Apply | WaitReady | SmokeTest | WaitTraffic | Watch | Hold | Pause
GATES = (WaitReady, SmokeTest, WaitTraffic, Watch)


def to_json(step: Step) -> dict[str, Any]:
    return {"kind": step.kind, "label": step.label, **step.fields()}


def from_json(data: Mapping[str, Any]) -> Step:
    kind, label = data["kind"], data["label"]
    if kind == "apply":
        return Apply(
            label,
            Change.from_json(data["change"]),
            data["traffic"],
            restore=bool(data.get("restore")),
            switches=bool(data.get("switches")),
        )
    if kind == "ready":
        return WaitReady(label, tuple(data["tracks"]))
    if kind == "smoke":
        return SmokeTest(label, data["service"])
    if kind == "traffic":
        return WaitTraffic(label, data["track"])
    if kind == "watch":
        return Watch(label, data["track"])
    if kind == "hold":
        return Hold(label, int(data["seconds"]))
    if kind == "pause":
        return Pause(label)
    raise ValueError(f"unknown rollout step kind {kind!r}")


def plan_to_json(plan: Sequence[Step]) -> list[dict[str, Any]]:
    return [to_json(step) for step in plan]


def plan_from_json(data: Sequence[Mapping[str, Any]]) -> list[Step]:
    return [from_json(item) for item in data]
