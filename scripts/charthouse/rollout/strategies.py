"""The plans: which revisions a blueGreen or canary rollout makes, in which order, with
which gates between them, and how each one is undone. Pure functions of the values.

The orders are chosen so that no request is lost:

* blueGreen never scales a colour down while it may still get traffic: the switch is
  its own revision, the main Service's endpoints are checked, and the colour that
  lost traffic is held for ``scaleDownDelaySeconds`` before it shrinks.
* canary's promotion first runs the new version on the stable Deployment *beside* the
  full canary (replicaCount doubled at weight 50), then removes the canary; going
  straight from weight 100 to 0 would replace every pod at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from charthouse.errors import CharthouseError
from charthouse.rollout import overrides
from charthouse.rollout.overrides import Change
from charthouse.rollout.settings import Settings, dig
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

Values = Mapping[str, Any]
COLOURS = ("blue", "green")


@dataclass(frozen=True)
class Plan:
    """What ``start`` decided: the versions, the tracks and the steps."""

    strategy: str
    from_version: str
    to_version: str
    stable_track: str
    new_track: str
    steps: list[Step]


def other_colour(colour: str) -> str:
    return "green" if colour == "blue" else "blue"


def colour_tag(values: Values, colour: str) -> str:
    """The tag a colour's Deployment runs (its own, else ``image.tag``)."""
    return str(dig(values, f"rollout.blueGreen.{colour}.tag") or dig(values, "image.tag", ""))


def serving_version(strategy: str, values: Values) -> str:
    """The version that serves (all traffic, when no rollout runs) under ``values``."""
    if strategy == "blueGreen":
        return colour_tag(values, str(dig(values, "rollout.blueGreen.activeColor", "blue")))
    return str(dig(values, "image.tag", ""))


def current_pins(strategy: str, user_values: Values) -> Change:
    """The owned keys as the release has them now (or absent): so a plan's changes start
    from what runs, not from the chart's defaults."""
    return overrides.merge(
        *(overrides.keep_or_unset(p, user_values) for p in overrides.OWNED_KEYS[strategy])
    )


def check_at_rest(strategy: str, current: Values) -> None:
    """Refuse to start over a canary that runs another version outside a rollout."""
    if strategy != "canary":
        return
    weight = dig(current, "rollout.canary.weight", 0)
    canary_tag = str(dig(current, "rollout.canary.tag") or dig(current, "image.tag", ""))
    if weight and canary_tag != dig(current, "image.tag"):
        raise CharthouseError(
            f"rollout.canary.weight is {weight} with rollout.canary.tag {canary_tag}: a canary "
            "is already running outside `charthouse rollout`; set the weight to 0 first"
        )


def in_place(strategy: str, current: Values, version: str) -> Plan:
    """Same version, other values: one revision, then every serving track ready."""
    tracks = (
        (str(dig(current, "rollout.blueGreen.activeColor", "blue")),)
        if strategy == "blueGreen"
        else ("stable",)
    )
    steps: list[Step] = [
        Apply(f"apply the values in place ({version} stays)", Change(), traffic=version),
        WaitReady(f"wait for {', '.join(tracks)} to be ready", tracks),
    ]
    return Plan(strategy, version, version, tracks[0], tracks[0], steps)


def blue_green(settings: Settings, current: Values, target: str) -> Plan:
    active = str(dig(current, "rollout.blueGreen.activeColor", "blue"))
    idle = other_colour(active)
    pin = {
        "rollout.blueGreen.activeColor": active,
        f"rollout.blueGreen.{active}.tag": colour_tag(current, active),
        f"rollout.blueGreen.{idle}.tag": target,
    }
    full_preview = ("rollout.blueGreen.previewReplicas",)  # null: as many pods as the active
    steps: list[Step] = [
        Apply(
            f"deploy {target} to {idle} (preview)",
            Change(set=pin, unset=full_preview),
            traffic=active,
        ),
        WaitReady(f"wait for {idle} to be ready", (idle,)),
    ]
    if settings.smoke.enabled:
        steps.append(SmokeTest(f"smoke-test {idle} through the preview Service", "preview"))
    if not settings.auto_promote:
        steps.append(Pause(f"paused before switching traffic to {idle}"))
    switched = {**pin, "rollout.blueGreen.activeColor": idle}
    steps += [
        Apply(
            f"switch traffic to {idle}",
            Change(set=switched, unset=full_preview),
            traffic=idle,
            switches=True,
        ),
        WaitTraffic(f"wait for the main Service to send only to {idle}", idle),
        Watch(f"watch {idle} for {settings.window_seconds}s", idle),
    ]
    if settings.preview_replicas is not None:
        hold = settings.scale_down_delay_seconds - settings.window_seconds
        if hold > 0:
            steps.append(Hold(f"keep {active} for the scale-down delay", hold))
        steps.append(
            Apply(  # previewReplicas is the user's again (it is in the rollout's values)
                f"scale {active} to {settings.preview_replicas} pods",
                Change(set=switched),
                traffic=idle,
            )
        )
    return Plan("blueGreen", colour_tag(current, active), target, active, idle, steps)


def canary(settings: Settings, current: Values, target: str) -> Plan:
    stable = str(dig(current, "image.tag", ""))
    steps: list[Step] = []
    for index, weight in enumerate(settings.steps):
        steps += [
            Apply(
                f"canary {weight}%: {target}",
                Change(
                    set={
                        "image.tag": stable,
                        "rollout.canary.tag": target,
                        "rollout.canary.weight": weight,
                    }
                ),
                traffic=f"{weight}%",
            ),
            WaitReady(f"wait for the canary at {weight}% to be ready", ("stable", "canary")),
        ]
        if index == 0 and settings.smoke.enabled:
            steps.append(SmokeTest("smoke-test the canary through its Service", "canary"))
        steps.append(
            Watch(f"watch the canary at {weight}% for {settings.window_seconds}s", "canary")
        )
    promoted = {"image.tag": target, "rollout.canary.tag": target}
    n = settings.replica_count
    steps += [
        Apply(
            f"stable to {target} beside the canary",
            Change(set={**promoted, "rollout.canary.weight": 50, "replicaCount": 2 * n}),
            traffic="50%",
        ),
        WaitReady(f"wait for stable on {target} to be ready", ("stable", "canary")),
        Apply(
            # replicaCount is the user's again: every revision starts from the rollout's values.
            f"canary to 0%: stable serves {target}",
            Change(set={**promoted, "rollout.canary.weight": 0}),
            traffic="0%",
        ),
        WaitReady("wait for stable to be ready", ("stable",)),
    ]
    return Plan("canary", stable, target, "stable", "canary", steps)


def plan(settings: Settings, current: Values, target: str) -> Plan:
    check_at_rest(settings.strategy, current)
    if settings.strategy == "blueGreen":
        return blue_green(settings, current, target)
    return canary(settings, current, target)


def abort_steps(plan_: Plan, settings: Settings, *, switched: bool) -> list[Step]:
    """Undo a rollout from wherever it is: traffic back first, then the pre-rollout values."""
    stable, new = plan_.stable_track, plan_.new_track
    if plan_.strategy == "canary":
        return [
            Apply(
                f"canary to 0%: stable {plan_.from_version} serves",
                Change(set={"rollout.canary.weight": 0}),
                traffic="0%",
                restore=True,
            ),
            WaitReady("wait for stable to be ready", ("stable",)),
        ]
    steps: list[Step] = []
    if switched:
        steps += [
            Apply(
                f"switch traffic back to {stable}",
                Change(
                    set={
                        "rollout.blueGreen.activeColor": stable,
                        f"rollout.blueGreen.{stable}.tag": plan_.from_version,
                        f"rollout.blueGreen.{new}.tag": plan_.to_version,
                    },
                    unset=("rollout.blueGreen.previewReplicas",),
                ),
                traffic=stable,
                switches=True,
            ),
            WaitTraffic(f"wait for the main Service to send only to {stable}", stable),
            Hold(f"keep {new} for the scale-down delay", settings.scale_down_delay_seconds),
        ]
    steps += [
        Apply(
            f"restore {new} as it was before the rollout", Change(), traffic=stable, restore=True
        ),
        WaitReady(f"wait for {stable} to be ready", (stable,)),
    ]
    return steps
