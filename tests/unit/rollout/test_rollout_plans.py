"""The rollout plans, checked on what the real chart renders for each of their revisions.

Every Apply step of a plan is one helm revision; rendering each revision's values
with the app chart shows what Kubernetes will be asked to run. The promises checked
here are the ones that make "0 failed requests" possible at all: the main Service
always selects pods that exist and run the version it should, and no revision takes
away the only pods that serve.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import pytest

from charthouse.charts import load_chart
from charthouse.errors import CharthouseError
from charthouse.manifests import Manifests
from charthouse.rollout import overrides, settings, strategies
from charthouse.rollout.steps import Apply, Hold, Pause, SmokeTest, WaitReady, WaitTraffic, Watch
from charthouse.values import chart_defaults, deep_merge
from support.rendering import RenderFn

TRACK = "charthouse.dev/track"
DEFAULTS = chart_defaults(load_chart("app"))


def effective(user: Mapping[str, Any]) -> dict[str, Any]:
    return deep_merge(DEFAULTS, user)


def revisions(plan: strategies.Plan, base: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (step.label, overrides.apply(base, step.change))
        for step in plan.steps
        if isinstance(step, Apply)
    ]


def serving(manifests: Manifests) -> dict[str, tuple[str, int]]:
    """track -> (image tag, replicas) of every Deployment the main Service selects."""
    main = next(
        s
        for s in manifests.of_kind("Service")
        if s["metadata"]["labels"]["charthouse.dev/service"] == "main"
    )
    selector = main["spec"]["selector"]
    found = {}
    for deployment in manifests.of_kind("Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        if all(labels.get(k) == v for k, v in selector.items()):
            image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
            found[labels[TRACK]] = (image.rsplit(":", 1)[1], deployment["spec"]["replicas"])
    return found


BLUE_GREEN = {"replicaCount": 3, "rollout": {"strategy": "blueGreen"}, "image": {"tag": "v1"}}


def test_blue_green_moves_traffic_only_at_the_switch(render: RenderFn) -> None:
    current = effective(BLUE_GREEN)
    user = {**BLUE_GREEN, "image": {"tag": "v2"}}
    rollout_settings = settings.read(effective(user))
    plan = strategies.plan(rollout_settings, current, "v2")

    kinds = [type(step) for step in plan.steps]
    assert kinds == [Apply, WaitReady, SmokeTest, Apply, WaitTraffic, Watch]
    assert (plan.from_version, plan.to_version, plan.stable_track, plan.new_track) == (
        "v1",
        "v2",
        "blue",
        "green",
    )
    seen = [serving(render("app", values)) for _, values in revisions(plan, user)]
    # deploy: blue still serves v1 at full strength while green gets v2 behind -preview
    assert seen[0] == {"blue": ("v1", 3)}
    assert seen[1] == {"green": ("v2", 3)}
    deploy = render("app", revisions(plan, user)[0][1])
    green = deploy.get("Deployment", "rel-app-green")
    assert green["spec"]["replicas"] == 3
    assert green["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":v2")


def test_blue_green_scales_the_old_colour_down_only_after_the_window_and_delay(
    render: RenderFn,
) -> None:
    user = {**BLUE_GREEN, "image": {"tag": "v2"}}
    user["rollout"] = {
        "strategy": "blueGreen",
        "blueGreen": {"previewReplicas": 0, "scaleDownDelaySeconds": 90},
        "gates": {"windowSeconds": 30},
    }
    current = effective({**user, "image": {"tag": "v1"}})
    plan = strategies.plan(settings.read(effective(user)), current, "v2")

    kinds = [type(step) for step in plan.steps]
    assert kinds[-3:] == [Watch, Hold, Apply]
    hold = plan.steps[-2]
    assert isinstance(hold, Hold) and hold.seconds == 60  # 90 s after the switch in all
    values = [v for _, v in revisions(plan, user)]
    # green ran at full strength up to the switch even though the user wants 0 idle pods
    assert render("app", values[0]).get("Deployment", "rel-app-green")["spec"]["replicas"] == 3
    last = render("app", values[-1])
    assert last.get("Deployment", "rel-app-blue")["spec"]["replicas"] == 0
    assert serving(last) == {"green": ("v2", 3)}
    scale_down = plan.steps[-1]
    assert isinstance(scale_down, Apply)
    assert overrides.apply(user, scale_down.change)["rollout"]["blueGreen"]["previewReplicas"] == 0


def test_blue_green_without_auto_promote_pauses_before_the_switch() -> None:
    user = {**BLUE_GREEN, "rollout": {"strategy": "blueGreen", "blueGreen": {"autoPromote": False}}}
    plan = strategies.plan(settings.read(effective(user)), effective(BLUE_GREEN), "v2")
    kinds = [type(step) for step in plan.steps]
    assert kinds.index(Pause) == kinds.index(SmokeTest) + 1
    switch = plan.steps[kinds.index(Pause) + 1]
    assert isinstance(switch, Apply) and switch.switches


def test_blue_green_from_green_deploys_to_blue() -> None:
    current = effective(
        {
            **BLUE_GREEN,
            "rollout": {
                "strategy": "blueGreen",
                "blueGreen": {"activeColor": "green", "green": {"tag": "v5"}},
            },
        }
    )
    plan = strategies.plan(settings.read(current), current, "v6")
    assert (plan.stable_track, plan.new_track, plan.from_version) == ("green", "blue", "v5")
    first = plan.steps[0]
    assert isinstance(first, Apply)
    assert first.change.set["rollout.blueGreen.green.tag"] == "v5"  # the serving colour is pinned
    assert first.change.set["rollout.blueGreen.blue.tag"] == "v6"


CANARY = {
    "replicaCount": 4,
    "rollout": {"strategy": "canary", "canary": {"weight": 0}},
    "image": {"tag": "v1"},
}


def test_canary_steps_through_the_weights_then_promotes_beside_the_canary(render: RenderFn) -> None:
    user = {**CANARY, "image": {"tag": "v2"}}
    plan = strategies.plan(settings.read(effective(user)), effective(CANARY), "v2")
    applies = [s for s in plan.steps if isinstance(s, Apply)]
    assert [s.traffic for s in applies] == ["10%", "25%", "50%", "100%", "50%", "0%"]
    smoke = [s for s in plan.steps if isinstance(s, SmokeTest)]
    assert len(smoke) == 1 and smoke[0].service == "canary"
    assert sum(isinstance(s, Watch) for s in plan.steps) == 4

    pods = []
    for _, values in revisions(plan, user):
        found = serving(render("app", values))
        pods.append({track: found.get(track, ("-", 0)) for track in ("stable", "canary")})
    assert pods == [
        {"stable": ("v1", 3), "canary": ("v2", 1)},
        {"stable": ("v1", 3), "canary": ("v2", 1)},  # 25 % of 4 pods rounds to 1
        {"stable": ("v1", 2), "canary": ("v2", 2)},
        {"stable": ("v1", 0), "canary": ("v2", 4)},
        {"stable": ("v2", 4), "canary": ("v2", 4)},  # the new stable pods come up first
        {"stable": ("v2", 4), "canary": ("v2", 0)},
    ]
    # the last revision leaves the user's own replicaCount, not the doubled one
    assert revisions(plan, user)[-1][1]["replicaCount"] == 4


@pytest.mark.parametrize("replicas", [1, 3, 10])
def test_pods_that_serve_keep_serving_across_every_revision(
    render: RenderFn, replicas: int
) -> None:
    """Between two revisions some serving pods stay untouched (same track, same version),
    and when the canary hands over to stable all ``replicaCount`` of them do: no
    revision replaces every serving pod at once."""
    user = {**CANARY, "replicaCount": replicas, "image": {"tag": "v2"}}
    current = effective({**user, "image": {"tag": "v1"}})
    plan = strategies.plan(settings.read(effective(user)), current, "v2")
    states = [serving(render("app", {**user, "image": {"tag": "v1"}}))]
    states += [serving(render("app", v)) for _, v in revisions(plan, user)]
    for before, after in itertools.pairwise(states):
        kept = sum(
            min(count, after[track][1])
            for track, (tag, count) in before.items()
            if track in after and after[track][0] == tag
        )
        assert kept >= 1, (before, after)
        if before.get("stable", ("", 0))[1] == 0:  # the hand-over from the full canary
            assert kept == replicas, (before, after)


def test_canary_refuses_to_start_over_a_canary_running_another_version() -> None:
    current = effective(
        {**CANARY, "rollout": {"strategy": "canary", "canary": {"weight": 10, "tag": "v0"}}}
    )
    with pytest.raises(CharthouseError, match="a canary is already running"):
        strategies.plan(settings.read(current), current, "v2")


def test_canary_at_the_chart_default_weight_with_the_stable_version_is_at_rest() -> None:
    current = effective({"rollout": {"strategy": "canary"}})  # weight 10, tag "" (= image.tag)
    plan = strategies.plan(settings.read(current), current, "v9")
    assert plan.from_version == DEFAULTS["image"]["tag"]


def test_aborting_blue_green_after_the_switch_moves_traffic_back_first(render: RenderFn) -> None:
    user = {**BLUE_GREEN, "image": {"tag": "v2"}}
    current = effective(BLUE_GREEN)
    rollout_settings = settings.read(effective(user))
    plan = strategies.plan(rollout_settings, current, "v2")
    steps = strategies.abort_steps(plan, rollout_settings, switched=True)
    assert [type(s) for s in steps] == [Apply, WaitTraffic, Hold, Apply, WaitReady]
    switch_back = steps[0]
    assert isinstance(switch_back, Apply)
    back = serving(render("app", overrides.apply(user, switch_back.change)))
    assert back == {"blue": ("v1", 3)}
    # green keeps its pods until the hold is over (the restore step comes after it)
    held = render("app", overrides.apply(user, switch_back.change))
    assert held.get("Deployment", "rel-app-green")["spec"]["replicas"] == 3
    restore = steps[3]
    assert isinstance(restore, Apply) and restore.restore


def test_aborting_blue_green_before_the_switch_only_restores() -> None:
    user = {**BLUE_GREEN, "image": {"tag": "v2"}}
    rollout_settings = settings.read(effective(user))
    plan = strategies.plan(rollout_settings, effective(BLUE_GREEN), "v2")
    steps = strategies.abort_steps(plan, rollout_settings, switched=False)
    assert [type(s) for s in steps] == [Apply, WaitReady]
    assert isinstance(steps[0], Apply) and steps[0].restore


def test_aborting_a_canary_sets_weight_zero_on_the_values_from_before(render: RenderFn) -> None:
    user = {**CANARY, "image": {"tag": "v2"}}
    rollout_settings = settings.read(effective(user))
    plan = strategies.plan(rollout_settings, effective(CANARY), "v2")
    steps = strategies.abort_steps(plan, rollout_settings, switched=False)
    restore = steps[0]
    assert isinstance(restore, Apply) and restore.restore
    snapshot = {**CANARY, "rollout": {"strategy": "canary", "canary": {"weight": 0}}}
    after = serving(render("app", overrides.apply(snapshot, restore.change)))
    assert after["stable"] == ("v1", 4)
    assert after.get("canary", ("v1", 0))[1] == 0


def test_same_version_with_other_values_is_one_revision_in_place() -> None:
    plan = strategies.in_place("canary", effective(CANARY), "v1")
    assert [type(s) for s in plan.steps] == [Apply, WaitReady]
    assert plan.from_version == plan.to_version == "v1"
