"""The rollout's settings, read once from the chart values when a rollout starts.

They live in the values (``rollout.gates``, ``rollout.canary.steps``, ...) so they
travel with the release: ``promote`` and a resumed ``start`` in another CI job use
the settings the rollout started with, which the state record keeps.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from charthouse.errors import CharthouseError

STRATEGIES = ("blueGreen", "canary")
DEFAULT_STEPS = (10, 25, 50, 100)
# Values this driver reads from the release and no template of the app chart does:
# their defaults (``null`` bounds among them) change no rendered object.
DRIVER_ONLY_VALUES = ("rollout.gates",)
SCALE_DOWN_DELAY_SECONDS = {"blueGreen": 30, "canary": 10}


@dataclass(frozen=True)
class SmokeTest:
    enabled: bool = True
    path: str = "/"
    expected_status: int = 200
    timeout_seconds: int = 30


@dataclass(frozen=True)
class PrometheusGate:
    address: str = ""
    query: str = ""
    max: float | None = None
    min: float | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.address and self.query)


@dataclass(frozen=True)
class Settings:
    """Everything a plan and its gates need to know from the values."""

    strategy: str
    ready_timeout_seconds: int = 300
    window_seconds: int = 60
    max_restarts: int = 0
    smoke: SmokeTest = SmokeTest()
    prometheus: PrometheusGate = PrometheusGate()
    auto_promote: bool = True
    scale_down_delay_seconds: int = 30
    steps: tuple[int, ...] = DEFAULT_STEPS
    # The user's own values for the keys a rollout changes for a while (restored at the end).
    replica_count: int = 1
    preview_replicas: int | None = None
    autoscaling: bool = False

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Settings:
        fields = dict(data)
        fields["smoke"] = SmokeTest(**fields.get("smoke", {}))
        fields["prometheus"] = PrometheusGate(**fields.get("prometheus", {}))
        fields["steps"] = tuple(fields.get("steps", DEFAULT_STEPS))
        return cls(**fields)


def dig(values: Mapping[str, Any], path: str, default: Any = None) -> Any:
    """``values["a"]["b"]`` for ``"a.b"``; ``default`` where any level is missing."""
    node: Any = values
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return default
        node = node[key]
    return default if node is None else node


def _int(values: Mapping[str, Any], path: str, default: int, *, minimum: int = 0) -> int:
    value = dig(values, path, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise CharthouseError(f"{path}: expected an integer >= {minimum}, got {value!r}")
    return value


def _number(values: Mapping[str, Any], path: str) -> float | None:
    value = dig(values, path)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CharthouseError(f"{path}: expected a number or null, got {value!r}")
    return float(value)


def canary_steps(raw: Any) -> tuple[int, ...]:
    """Validate ``rollout.canary.steps``: rising weights from 1 to 100."""
    if raw is None:
        return DEFAULT_STEPS
    if (
        not isinstance(raw, list)
        or not raw
        or not all(isinstance(w, int) and not isinstance(w, bool) for w in raw)
    ):
        raise CharthouseError(f"rollout.canary.steps: expected a list of integers, got {raw!r}")
    steps = tuple(raw)
    if any(not 1 <= w <= 100 for w in steps):
        raise CharthouseError(f"rollout.canary.steps: weights must be 1 to 100, got {list(steps)}")
    if any(b <= a for a, b in itertools.pairwise(steps)):
        raise CharthouseError(f"rollout.canary.steps: weights must rise, got {list(steps)}")
    return steps


def read(values: Mapping[str, Any]) -> Settings:
    """The settings in ``values`` (chart defaults merged with the user's values)."""
    strategy = dig(values, "rollout.strategy", "rolling")
    if strategy not in STRATEGIES:
        raise CharthouseError(
            f"rollout.strategy is {strategy!r}: `charthouse rollout` drives "
            f"{' and '.join(STRATEGIES)} (set rollout.strategy and install that first)"
        )
    smoke_path = (
        dig(values, "rollout.gates.smokeTest.path")
        or dig(values, "tests.path")
        or dig(values, "probes.readiness.path")
        or "/"
    )
    if not str(smoke_path).startswith("/"):
        raise CharthouseError(f"rollout.gates.smokeTest.path: expected /..., got {smoke_path!r}")
    prometheus = PrometheusGate(
        address=str(dig(values, "rollout.gates.prometheus.address", "")),
        query=str(dig(values, "rollout.gates.prometheus.query", "")),
        max=_number(values, "rollout.gates.prometheus.max"),
        min=_number(values, "rollout.gates.prometheus.min"),
    )
    if bool(prometheus.address) != bool(prometheus.query):
        raise CharthouseError(
            "rollout.gates.prometheus: address and query go together (set both or neither)"
        )
    if prometheus.enabled and prometheus.max is None and prometheus.min is None:
        raise CharthouseError("rollout.gates.prometheus: set max or min, or it gates nothing")
    preview = dig(values, "rollout.blueGreen.previewReplicas")
    preview_replicas = (
        None if preview is None else _int(values, "rollout.blueGreen.previewReplicas", 0)
    )
    return Settings(
        strategy=strategy,
        ready_timeout_seconds=_int(values, "rollout.gates.readyTimeoutSeconds", 300, minimum=1),
        window_seconds=_int(values, "rollout.gates.windowSeconds", 60),
        max_restarts=_int(values, "rollout.gates.maxRestarts", 0),
        smoke=SmokeTest(
            enabled=bool(dig(values, "rollout.gates.smokeTest.enabled", True)),
            path=str(smoke_path),
            expected_status=_int(
                values, "rollout.gates.smokeTest.expectedStatus", 200, minimum=100
            ),
            timeout_seconds=_int(values, "rollout.gates.smokeTest.timeoutSeconds", 30, minimum=1),
        ),
        prometheus=prometheus,
        auto_promote=bool(dig(values, "rollout.blueGreen.autoPromote", True)),
        # blueGreen: the colour that lost traffic; canary: the pods a step takes out of rotation.
        scale_down_delay_seconds=_int(
            values,
            f"rollout.{strategy}.scaleDownDelaySeconds",
            SCALE_DOWN_DELAY_SECONDS[strategy],
        ),
        steps=canary_steps(dig(values, "rollout.canary.steps")),
        replica_count=_int(values, "replicaCount", 1),
        preview_replicas=preview_replicas,
        autoscaling=bool(dig(values, "autoscaling.enabled", False)),
    )
