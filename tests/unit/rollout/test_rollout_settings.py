"""The rollout's settings from the chart values, and the values keys the command owns."""

from __future__ import annotations

from typing import Any

import pytest

from charthouse.charts import load_chart
from charthouse.errors import CharthouseError
from charthouse.rollout import overrides, settings
from charthouse.rollout.overrides import Change
from charthouse.values import ValuesSource, chart_defaults, deep_merge

DEFAULTS = chart_defaults(load_chart("app"))


def read(**user: Any) -> settings.Settings:
    return settings.read(deep_merge(DEFAULTS, user))


def test_chart_defaults_are_the_documented_ones() -> None:
    found = read(rollout={"strategy": "canary"})
    assert found.steps == (10, 25, 50, 100)
    assert (found.window_seconds, found.ready_timeout_seconds, found.max_restarts) == (60, 300, 0)
    assert found.smoke.enabled and found.smoke.expected_status == 200
    assert found.smoke.path == "/health/ready"  # the readiness probe's, as helm test uses
    assert not found.prometheus.enabled
    assert found.auto_promote
    # each strategy reads its own key: the colour that lost traffic, the pods out of rotation
    assert found.scale_down_delay_seconds == 10
    assert read(rollout={"strategy": "blueGreen"}).scale_down_delay_seconds == 30
    own = read(rollout={"strategy": "canary", "canary": {"scaleDownDelaySeconds": 3}})
    assert own.scale_down_delay_seconds == 3


def test_smoke_path_prefers_its_own_then_the_helm_test_path() -> None:
    assert read(rollout={"strategy": "canary"}, tests={"path": "/ping"}).smoke.path == "/ping"
    own = read(
        rollout={"strategy": "canary", "gates": {"smokeTest": {"path": "/smoke"}}},
        tests={"path": "/ping"},
    )
    assert own.smoke.path == "/smoke"


@pytest.mark.parametrize("strategy", ["rolling", "recreate"])
def test_strategies_without_traffic_steps_are_refused(strategy: str) -> None:
    with pytest.raises(CharthouseError, match=f"rollout.strategy is '{strategy}'"):
        read(rollout={"strategy": strategy})


@pytest.mark.parametrize(
    ("steps", "problem"),
    [([50, 25, 100], "must rise"), ([10, 10], "must rise"), ([0, 100], "1 to 100"), ([], "list")],
)
def test_bad_canary_steps_name_the_key(steps: list[int], problem: str) -> None:
    with pytest.raises(CharthouseError, match=f"rollout.canary.steps: .*{problem}"):
        read(rollout={"strategy": "canary", "canary": {"steps": steps}})


def test_prometheus_needs_address_query_and_a_bound() -> None:
    with pytest.raises(CharthouseError, match="address and query go together"):
        read(rollout={"strategy": "canary", "gates": {"prometheus": {"query": "up"}}})
    with pytest.raises(CharthouseError, match="set max or min"):
        read(
            rollout={
                "strategy": "canary",
                "gates": {"prometheus": {"query": "up", "address": "mon/prom:9090"}},
            }
        )


def test_settings_survive_the_state_record() -> None:
    found = read(
        rollout={
            "strategy": "blueGreen",
            "blueGreen": {"previewReplicas": 0},
            "gates": {"prometheus": {"query": "up", "address": "http://127.0.0.1:1", "max": 1}},
        }
    )
    assert settings.Settings.from_json(found.to_json()) == found


def test_owned_keys_from_set_are_refused_and_from_files_reported() -> None:
    layers = [
        ValuesSource("prod.yaml", {"image": {"tag": "v2"}, "rollout": {"canary": {"weight": 0}}}),
        ValuesSource("--set rollout.canary.tag=v3", {"rollout": {"canary": {"tag": "v3"}}}),
    ]
    assert overrides.owned_keys("canary", layers) == [
        ("prod.yaml", "rollout.canary.weight"),
        ("--set rollout.canary.tag=v3", "rollout.canary.tag"),
    ]
    with pytest.raises(CharthouseError) as error:
        overrides.refuse_set_owned_keys("canary", layers)
    assert str(error.value).startswith("--set rollout.canary.tag=v3: rollout.canary.tag: set by")
    overrides.refuse_set_owned_keys("canary", layers[:1])  # a file may carry them
    overrides.refuse_set_owned_keys("blueGreen", layers)  # not owned under blueGreen


def test_changes_set_and_unset_without_touching_the_input() -> None:
    base: dict[str, Any] = {
        "rollout": {"blueGreen": {"previewReplicas": 0}},
        "image": {"tag": "v1"},
    }
    changed = overrides.apply(
        base,
        Change(
            set={"rollout.blueGreen.green.tag": "v2", "image.tag": "v2"},
            unset=("rollout.blueGreen.previewReplicas", "no.such.key"),
        ),
    )
    assert changed == {"rollout": {"blueGreen": {"green": {"tag": "v2"}}}, "image": {"tag": "v2"}}
    assert base["rollout"]["blueGreen"] == {"previewReplicas": 0}


def test_keep_or_unset_and_merge() -> None:
    user = {"replicaCount": 5}
    assert overrides.keep_or_unset("replicaCount", user) == Change(set={"replicaCount": 5})
    assert overrides.keep_or_unset("image.tag", user) == Change(unset=("image.tag",))
    merged = overrides.merge(Change(set={"a": 1}), Change(unset=("a",)), Change(set={"b": 2}))
    assert merged == Change(set={"b": 2}, unset=("a",))
