"""The app chart: what a user relies on when running a service with it."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from charthouse import render as rendering
from charthouse import render_choices
from charthouse.manifests import Manifests
from charthouse.paths import CHARTS_DIR
from charthouse.validate import check_objects
from support.rendering import RenderErrorFn, RenderFn

CHART = "app"
CHART_DIR = CHARTS_DIR / CHART
SCENARIOS = sorted((CHART_DIR / "ci").glob("*-values.yaml"))
TRACK = "charthouse.dev/track"
ROTATION = "charthouse.dev/in-rotation"
BASE_SELECTOR = {
    "app.kubernetes.io/name": "app",
    "app.kubernetes.io/instance": "rel",
    "app.kubernetes.io/component": "app",
}
# Each Deployment name is bound to one track for life (see templates/_helpers.tpl).
TRACK_OF = {
    "rel-app": "stable",
    "rel-app-canary": "canary",
    "rel-app-blue": "blue",
    "rel-app-green": "green",
}


def scenario(name: str) -> Path:
    return CHART_DIR / "ci" / f"{name}-values.yaml"


def deployments(manifests: Manifests) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in manifests.of_kind("Deployment")}


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def env_of(deployment: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container(deployment).get("env", [])}


def replicas(manifests: Manifests) -> dict[str, int | None]:
    return {name: d["spec"].get("replicas") for name, d in deployments(manifests).items()}


def pod_specs(manifests: Manifests) -> Iterable[tuple[str, dict[str, Any]]]:
    for obj in manifests.objects:
        if obj["kind"] == "Deployment":
            yield obj["metadata"]["name"], obj["spec"]["template"]["spec"]
        elif obj["kind"] == "Pod":
            yield obj["metadata"]["name"], obj["spec"]


# -- defaults -------------------------------------------------------------------


def test_defaults_run_a_pinned_image_with_health_probes_on_live_ready_startup(
    render: RenderFn,
) -> None:
    manifests = render(CHART)
    deployment = manifests.get("Deployment", "rel-app")
    main = container(deployment)
    assert main["image"] == "docker.io/traefik/whoami:v1.11.0"
    assert deployment["spec"]["replicas"] == 2
    assert main["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    probes = {
        kind: main[kind]["httpGet"] for kind in ("livenessProbe", "readinessProbe", "startupProbe")
    }
    assert probes == {
        "livenessProbe": {"path": "/health/live", "port": "http"},
        "readinessProbe": {"path": "/health/ready", "port": "http"},
        "startupProbe": {"path": "/health/startup", "port": "http"},
    }
    service = manifests.get("Service", "rel-app")
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}
    ]
    assert service["spec"]["selector"] == BASE_SELECTOR


def test_default_rolling_update_never_drops_capacity(render: RenderFn) -> None:
    strategy = render(CHART).get("Deployment", "rel-app")["spec"]["strategy"]
    assert strategy == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }


def test_recreate_strategy(render: RenderFn) -> None:
    strategy = render(CHART, values_files=[scenario("recreate")]).get("Deployment", "rel-app")[
        "spec"
    ]["strategy"]
    assert strategy == {"type": "Recreate"}


def test_command_args_and_env_from_are_passed_through(render: RenderFn) -> None:
    main = container(
        render(
            CHART,
            {
                "command": ["/bin/api"],
                "args": ["--serve"],
                "envFrom": [{"configMapRef": {"name": "shared"}}],
            },
        ).get("Deployment", "rel-app")
    )
    assert main["command"] == ["/bin/api"]
    assert main["args"] == ["--serve"]
    assert main["envFrom"] == [{"configMapRef": {"name": "shared"}}]


# -- security -------------------------------------------------------------------


def test_service_account_has_no_token_by_default(render: RenderFn) -> None:
    manifests = render(CHART)
    account = manifests.get("ServiceAccount", "rel-app")
    assert account["automountServiceAccountToken"] is False
    pod = manifests.get("Deployment", "rel-app")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "rel-app"


def test_service_account_can_be_external(render: RenderFn) -> None:
    manifests = render(CHART, {"serviceAccount": {"create": False, "name": "shared"}})
    assert manifests.of_kind("ServiceAccount") == []
    pod = manifests.get("Deployment", "rel-app")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "shared"


def test_read_only_root_gets_a_writable_tmp(render: RenderFn) -> None:
    deployment = render(CHART).get("Deployment", "rel-app")
    assert {"name": "tmp", "mountPath": "/tmp"} in container(deployment)["volumeMounts"]
    volumes = deployment["spec"]["template"]["spec"]["volumes"]
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in volumes


# -- selectors --------------------------------------------------------------------


@pytest.mark.parametrize(
    "values_file", [None, *SCENARIOS], ids=lambda p: p.name if p else "defaults"
)
def test_each_deployment_name_always_has_the_same_selector(
    render: RenderFn, values_file: Path | None
) -> None:
    """Whatever the scenario, <fullname>[-track] selects exactly its own track, so
    switching strategy never edits an existing (immutable) selector."""
    files = [values_file] if values_file else []
    for name, deployment in deployments(render(CHART, values_files=files)).items():
        expected = {**BASE_SELECTOR, TRACK: TRACK_OF[name]}
        assert deployment["spec"]["selector"]["matchLabels"] == expected, name
        assert expected.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


def test_strategy_switches_keep_selectors_of_surviving_deployments(render: RenderFn) -> None:
    steps: list[dict[str, Any]] = [
        {},
        {"rollout": {"strategy": "canary", "canary": {"weight": 10, "tag": "v1.10.4"}}},
        {"rollout": {"strategy": "canary", "canary": {"weight": 50, "tag": "v1.10.4"}}},
        {"rollout": {"strategy": "rolling"}},
        {"rollout": {"strategy": "recreate"}},
        {"rollout": {"strategy": "blueGreen"}},
        {"rollout": {"strategy": "blueGreen", "blueGreen": {"activeColor": "green"}}},
        {"rollout": {"strategy": "rolling"}, "autoscaling": {"enabled": True}},
    ]
    seen: dict[str, dict[str, str]] = {}
    for values in steps:
        for name, deployment in deployments(render(CHART, values)).items():
            selector = deployment["spec"]["selector"]["matchLabels"]
            assert seen.setdefault(name, selector) == selector, (name, values)
    assert set(seen) == set(TRACK_OF)


def test_custom_labels_and_version_never_enter_selectors(render: RenderFn) -> None:
    plain = render(CHART)
    labelled = render(
        CHART,
        {"commonLabels": {"team": "a"}, "podLabels": {"tier": "web"}, "image": {"tag": "v1.10.4"}},
    )
    for kind in ("Deployment", "Service", "PodDisruptionBudget"):
        for before, after in zip(plain.of_kind(kind), labelled.of_kind(kind), strict=True):
            assert before["spec"]["selector"] == after["spec"]["selector"], kind
    pod_labels = labelled.get("Deployment", "rel-app")["spec"]["template"]["metadata"]["labels"]
    assert pod_labels["tier"] == "web"
    assert pod_labels["team"] == "a"


# -- config and secrets --------------------------------------------------------------


def test_config_becomes_env_and_mounted_files(render: RenderFn) -> None:
    manifests = render(CHART, values_files=[scenario("config-secrets")])
    config = manifests.get("ConfigMap", "rel-app")["data"]
    assert config["APP_NAME"] == "My Application"
    assert config["FEATURE_FLAG_NEW_UI"] == "true"
    assert json.loads(config["config.json"]) == {"api": {"timeout": 30, "retries": 3}}
    deployment = manifests.get("Deployment", "rel-app")
    env = env_of(deployment)
    assert env["LOG_LEVEL"]["valueFrom"] == {
        "configMapKeyRef": {"name": "rel-app", "key": "LOG_LEVEL"}
    }
    assert "config.json" not in env
    assert {"name": "config", "mountPath": "/etc/config", "readOnly": True} in container(
        deployment
    )["volumeMounts"]
    volume = next(
        v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == "config"
    )
    # only files are mounted: env keys do not appear as files under /etc/config
    assert volume["configMap"] == {
        "name": "rel-app",
        "items": [{"key": "config.json", "path": "config.json"}],
    }


def test_structured_config_file_is_written_as_json(render: RenderFn) -> None:
    data = render(CHART, {"config": {"files": {"settings.json": {"a": [1, 2]}}}}).get(
        "ConfigMap", "rel-app"
    )["data"]
    assert json.loads(data["settings.json"]) == {"a": [1, 2]}


def test_secrets_become_a_secret_read_by_env(render: RenderFn) -> None:
    manifests = render(CHART, values_files=[scenario("config-secrets")])
    secret = manifests.get("Secret", "rel-app")
    assert (
        base64.b64decode(secret["data"]["database-url"]).decode()
        == "postgresql://user:pass@db:5432/myapp"
    )
    env = env_of(manifests.get("Deployment", "rel-app"))
    assert env["DATABASE_URL"]["valueFrom"] == {
        "secretKeyRef": {"name": "rel-app", "key": "database-url"}
    }
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["WHOAMI_NAME"] == {"name": "WHOAMI_NAME", "value": "config-secrets"}


def test_existing_secret_is_used_instead_of_creating_one(render: RenderFn) -> None:
    manifests = render(
        CHART, {"secrets": {"existingSecret": "vault-synced", "env": {"DATABASE_URL": "url"}}}
    )
    assert manifests.of_kind("Secret") == []
    env = env_of(manifests.get("Deployment", "rel-app"))
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "vault-synced",
        "key": "url",
    }
    annotations = manifests.get("Deployment", "rel-app")["spec"]["template"]["metadata"]
    assert "checksum/secret" not in annotations.get("annotations", {})


def test_secret_env_without_a_secret_fails_clearly(render_error: RenderErrorFn) -> None:
    message = render_error(CHART, {"secrets": {"env": {"TOKEN": "token"}}})
    assert "secrets.env" in message


def pod_annotations(manifests: Manifests) -> dict[str, str]:
    meta = manifests.get("Deployment", "rel-app")["spec"]["template"]["metadata"]
    annotations: dict[str, str] = meta.get("annotations", {})
    return annotations


def test_checksums_roll_pods_when_config_or_secret_changes(render: RenderFn) -> None:
    assert "checksum/configmap" not in pod_annotations(render(CHART))
    base = pod_annotations(
        render(CHART, {"config": {"env": {"A": "1"}}, "secrets": {"data": {"k": "v"}}})
    )
    config_changed = pod_annotations(
        render(CHART, {"config": {"env": {"A": "2"}}, "secrets": {"data": {"k": "v"}}})
    )
    secret_changed = pod_annotations(
        render(CHART, {"config": {"env": {"A": "1"}}, "secrets": {"data": {"k": "w"}}})
    )
    assert base["checksum/configmap"] != config_changed["checksum/configmap"]
    assert base["checksum/secret"] == config_changed["checksum/secret"]
    assert base["checksum/secret"] != secret_changed["checksum/secret"]
    assert base["checksum/configmap"] == secret_changed["checksum/configmap"]


@pytest.mark.parametrize(
    "values_file", [None, *SCENARIOS], ids=lambda p: p.name if p else "defaults"
)
def test_no_duplicate_env_names(render: RenderFn, values_file: Path | None) -> None:
    files = [values_file] if values_file else []
    for name, spec in pod_specs(render(CHART, values_files=files)):
        for c in spec["containers"]:
            names = [e["name"] for e in c.get("env", [])]
            assert len(names) == len(set(names)), (name, names)


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"env": {"A": "1"}, "extraEnv": [{"name": "A", "value": "2"}]}, ("extraEnv[0]", "env.A")),
        ({"config": {"env": {"A": "1"}}, "env": {"A": "2"}}, ("env.A", "config.env.A")),
        (
            {"secrets": {"data": {"k": "v"}, "env": {"A": "k"}}, "config": {"env": {"A": "x"}}},
            ("secrets.env.A", "config.env.A"),
        ),
    ],
)
def test_duplicate_env_name_fails_naming_both_places(
    render_error: RenderErrorFn, values: dict[str, Any], named: tuple[str, str]
) -> None:
    message = render_error(CHART, values)
    assert all(place in message for place in named), message


# -- probes -------------------------------------------------------------------------


def test_probes_can_be_disabled_or_replaced(render: RenderFn) -> None:
    main = container(
        render(CHART, values_files=[scenario("custom-probes")]).get("Deployment", "rel-app")
    )
    assert "startupProbe" not in main
    assert main["livenessProbe"]["tcpSocket"] == {"port": "http"}
    assert "httpGet" not in main["livenessProbe"]
    assert main["readinessProbe"]["httpGet"] == {"path": "/", "port": "http"}


def test_a_pre_stop_sleep_keeps_a_stopping_pod_serving_on_every_track(render: RenderFn) -> None:
    """Kubernetes' own sleep action (no shell needed in the image), on by default: while it
    runs, proxies drop the pod from their endpoints, so rollouts and scale-downs lose no
    request (tests/integration/test_app_rollouts.py measures it)."""
    hook = {"preStop": {"sleep": {"seconds": 5}}}
    for strategy in ("rolling", "blueGreen", "canary"):
        rendered = render(CHART, {"rollout": {"strategy": strategy}})
        assert {name: container(d)["lifecycle"] for name, d in deployments(rendered).items()} == {
            name: hook for name in deployments(rendered)
        }
    longer = {"preStop": {"sleep": {"seconds": 20}}, "postStart": {"sleep": {"seconds": 1}}}
    rendered = render(CHART, {"lifecycle": longer})
    assert container(rendered.get("Deployment", "rel-app"))["lifecycle"] == longer
    # An image that drains on SIGTERM can do without it.
    rendered = render(CHART, {"lifecycle": {"preStop": None}})
    assert "lifecycle" not in container(rendered.get("Deployment", "rel-app"))


def test_a_pre_stop_sleep_as_long_as_the_grace_period_fails(render_error: RenderErrorFn) -> None:
    message = render_error(CHART, {"terminationGracePeriodSeconds": 5})
    assert "lifecycle.preStop.sleep.seconds (5)" in message
    assert "terminationGracePeriodSeconds (5)" in message


def test_probe_timings_give_a_slow_start_thirty_seconds(render: RenderFn) -> None:
    main = container(render(CHART).get("Deployment", "rel-app"))
    timings = {
        k: main["livenessProbe"][k]
        for k in ("initialDelaySeconds", "periodSeconds", "timeoutSeconds", "failureThreshold")
    }
    assert timings == {
        "initialDelaySeconds": 30,
        "periodSeconds": 10,
        "timeoutSeconds": 5,
        "failureThreshold": 3,
    }
    assert main["startupProbe"]["failureThreshold"] == 30


# -- routing --------------------------------------------------------------------------


def test_ingress_scenario_renders_class_nginx_tls_and_rate_limit(render: RenderFn) -> None:
    ingress = render(CHART, values_files=[scenario("ingress")]).get("Ingress", "rel-app")
    assert ingress["metadata"]["annotations"] == {
        "cert-manager.io/cluster-issuer": "letsencrypt-prod",
        "nginx.ingress.kubernetes.io/rate-limit": "100",
    }
    assert ingress["spec"] == {
        "ingressClassName": "nginx",
        "tls": [{"hosts": ["api.example.com"], "secretName": "api-tls"}],
        "rules": [
            {
                "host": "api.example.com",
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": "rel-app", "port": {"number": 80}}},
                        }
                    ]
                },
            }
        ],
    }


def test_httproute_targets_the_service(render: RenderFn) -> None:
    route = render(CHART, values_files=[scenario("httproute")]).get("HTTPRoute", "rel-app")
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["spec"]["parentRefs"] == [{"name": "gateway", "sectionName": "http"}]
    assert route["spec"]["hostnames"] == ["api.example.com"]
    assert route["spec"]["rules"] == [
        {
            "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
            "backendRefs": [{"name": "rel-app", "port": 80}],
        }
    ]


def test_httproute_rule_may_name_its_own_backends(render: RenderFn) -> None:
    own = [{"name": "legacy", "port": 8080}]
    route = render(CHART, {"httpRoute": {"enabled": True, "rules": [{"backendRefs": own}]}}).get(
        "HTTPRoute", "rel-app"
    )
    assert route["spec"]["rules"] == [{"backendRefs": own}]


# -- autoscaling ------------------------------------------------------------------------


def test_hpa_removes_replicas_and_carries_cpu_memory_and_pods_metrics(render: RenderFn) -> None:
    manifests = render(CHART, values_files=[scenario("hpa")])
    assert "replicas" not in manifests.get("Deployment", "rel-app")["spec"]
    hpa = manifests.get("HorizontalPodAutoscaler", "rel-app")
    assert hpa["apiVersion"] == "autoscaling/v2"
    spec = hpa["spec"]
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "rel-app",
    }
    assert (spec["minReplicas"], spec["maxReplicas"]) == (3, 10)
    by_type = {
        (
            m["type"],
            m["resource"]["name"] if m["type"] == "Resource" else m["pods"]["metric"]["name"],
        )
        for m in spec["metrics"]
    }
    assert by_type == {
        ("Resource", "cpu"),
        ("Resource", "memory"),
        ("Pods", "http_requests_per_second"),
    }
    assert spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300


ENGINES = [
    pytest.param(3, "binary", id="helm3"),
    pytest.param(4, "binary", id="helm4"),
    pytest.param(
        4,
        "sdk",
        id="sdk",
        marks=pytest.mark.skipif(not rendering.sdk_available(), reason="SDK not loadable"),
    ),
]


def utilization(resource: str, percent: int) -> dict[str, Any]:
    target = {"type": "Utilization", "averageUtilization": percent}
    return {"type": "Resource", "resource": {"name": resource, "target": target}}


@pytest.mark.parametrize(("helm", "engine"), ENGINES)
@pytest.mark.parametrize(
    ("autoscaling", "expected"),
    [
        pytest.param({}, [utilization("cpu", 70)], id="cpu-default-only"),
        pytest.param(
            {"targetCPUUtilizationPercentage": None, "targetMemoryUtilizationPercentage": 80},
            [utilization("memory", 80)],
            id="memory-only",
        ),
        pytest.param(
            {"targetMemoryUtilizationPercentage": 75},
            [utilization("cpu", 70), utilization("memory", 75)],
            id="both",
        ),
    ],
)
def test_hpa_renders_exactly_the_targets_that_are_set(
    render: RenderFn,
    helm: int,
    engine: render_choices.Engine,
    autoscaling: dict[str, Any],
    expected: list[dict[str, Any]],
) -> None:
    """A null target means none, with every helm: Helm 4.2+ drops null defaults, and a
    template that read them with `get` rendered a 0 % memory target that scales to max."""
    values = {"autoscaling": {"enabled": True, **autoscaling}}
    hpa = render(CHART, values, helm=helm, engine=engine).get("HorizontalPodAutoscaler", "rel-app")
    assert hpa["spec"]["metrics"] == expected


@pytest.mark.parametrize("strategy", ["rolling", "recreate", "canary", "blueGreen"])
def test_no_replicas_on_any_deployment_an_hpa_targets(render: RenderFn, strategy: str) -> None:
    manifests = render(
        CHART,
        {
            "autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 10},
            "rollout": {"strategy": strategy},
        },
    )
    targets = {
        h["spec"]["scaleTargetRef"]["name"] for h in manifests.of_kind("HorizontalPodAutoscaler")
    }
    assert targets == set(deployments(manifests))
    assert all(r is None for r in replicas(manifests).values()), replicas(manifests)


def test_canary_hpa_bounds_are_split_by_weight(render: RenderFn) -> None:
    manifests = render(
        CHART,
        {
            "autoscaling": {"enabled": True, "minReplicas": 10, "maxReplicas": 20},
            "rollout": {"strategy": "canary", "canary": {"weight": 10}},
        },
    )
    bounds = {
        h["metadata"]["name"]: (h["spec"]["minReplicas"], h["spec"]["maxReplicas"])
        for h in manifests.of_kind("HorizontalPodAutoscaler")
    }
    assert bounds == {"rel-app": (9, 18), "rel-app-canary": (1, 2)}


def test_blue_green_idle_colour_can_scale_down_under_hpa(render: RenderFn) -> None:
    manifests = render(
        CHART,
        {
            "autoscaling": {"enabled": True},
            "rollout": {"strategy": "blueGreen", "blueGreen": {"previewReplicas": 0}},
        },
    )
    assert manifests.names("HorizontalPodAutoscaler") == ["rel-app-blue"]
    assert replicas(manifests) == {"rel-app-blue": None, "rel-app-green": 0}


# -- blue/green -------------------------------------------------------------------------


def test_blue_green_services_select_active_and_preview(render: RenderFn) -> None:
    manifests = render(CHART, values_files=[scenario("bluegreen")])
    images = {n: container(d)["image"] for n, d in deployments(manifests).items()}
    assert images == {
        "rel-app-blue": "docker.io/traefik/whoami:v1.11.0",
        "rel-app-green": "docker.io/traefik/whoami:v1.10.4",
    }
    assert replicas(manifests) == {"rel-app-blue": 3, "rel-app-green": 3}
    assert manifests.get("Service", "rel-app")["spec"]["selector"] == {
        **BASE_SELECTOR,
        TRACK: "blue",
    }
    assert manifests.get("Service", "rel-app-preview")["spec"]["selector"] == {
        **BASE_SELECTOR,
        TRACK: "green",
    }


def test_promoting_green_switches_only_the_services(render: RenderFn) -> None:
    blue = render(CHART, values_files=[scenario("bluegreen")])
    green = render(
        CHART,
        {"rollout": {"blueGreen": {"activeColor": "green"}}},
        values_files=[scenario("bluegreen")],
    )
    assert green.get("Service", "rel-app")["spec"]["selector"][TRACK] == "green"
    assert green.get("Service", "rel-app-preview")["spec"]["selector"][TRACK] == "blue"
    assert deployments(blue) == deployments(green)


# -- canary -----------------------------------------------------------------------------


def test_canary_splits_ten_pods_nine_stable_to_one_canary(render: RenderFn) -> None:
    manifests = render(CHART, values_files=[scenario("canary")])
    assert replicas(manifests) == {"rel-app": 9, "rel-app-canary": 1}
    assert container(manifests.get("Deployment", "rel-app-canary"))["image"].endswith(":v1.10.4")
    assert container(manifests.get("Deployment", "rel-app"))["image"].endswith(":v1.11.0")
    # the main Service reaches both tracks, so traffic follows the pod ratio; only pods
    # in rotation (the label charthouse rollout turns off before a pod is removed)
    assert manifests.get("Service", "rel-app")["spec"]["selector"] == {
        **BASE_SELECTOR,
        ROTATION: "true",
    }


@pytest.mark.parametrize(
    ("count", "weight", "expected"),
    [
        (10, 10, (9, 1)),
        (10, 25, (7, 3)),  # a typical second step (2.5 rounded up to 3)
        (10, 50, (5, 5)),
        (10, 0, (10, 0)),
        (10, 100, (0, 10)),
        (1, 10, (1, 1)),  # a non-zero weight always gets a pod; stable keeps one
        (3, 1, (2, 1)),
    ],
)
def test_canary_replica_split(
    render: RenderFn, count: int, weight: int, expected: tuple[int, int]
) -> None:
    manifests = render(
        CHART,
        {"replicaCount": count, "rollout": {"strategy": "canary", "canary": {"weight": weight}}},
    )
    got = replicas(manifests)
    assert (got["rel-app"], got["rel-app-canary"]) == expected


def test_canary_httproute_weights_requests(render: RenderFn) -> None:
    manifests = render(CHART, values_files=[scenario("canary-httproute")])
    route = manifests.get("HTTPRoute", "rel-app")
    assert route["spec"]["rules"][0]["backendRefs"] == [
        {"name": "rel-app-stable", "port": 80, "weight": 75},
        {"name": "rel-app-canary", "port": 80, "weight": 25},
    ]
    for track in ("stable", "canary"):
        selector = manifests.get("Service", f"rel-app-{track}")["spec"]["selector"]
        assert selector == {**BASE_SELECTOR, TRACK: track, ROTATION: "true"}


@pytest.mark.parametrize("strategy", ["rolling", "recreate", "blueGreen", "canary"])
def test_the_rotation_label_is_on_canary_pods_and_in_no_deployment_selector(
    render: RenderFn, strategy: str
) -> None:
    manifests = render(CHART, {"rollout": {"strategy": strategy}})
    for item in manifests.of_kind("Deployment"):
        # a selector is immutable, and a pod out of rotation still belongs to its ReplicaSet
        assert ROTATION not in item["spec"]["selector"]["matchLabels"]
        labels = item["spec"]["template"]["metadata"]["labels"]
        assert labels.get(ROTATION) == ("true" if strategy == "canary" else None)
    for service in manifests.of_kind("Service"):
        selected = service["spec"]["selector"].get(ROTATION)
        assert selected == ("true" if strategy == "canary" else None), service["metadata"]


def test_canary_with_a_digest_pinned_stable_image(render: RenderFn) -> None:
    digest = "sha256:" + "c" * 64
    manifests = render(
        CHART,
        {
            "image": {"digest": digest},
            "rollout": {"strategy": "canary", "canary": {"tag": "v1.10.4"}},
        },
    )
    assert container(manifests.get("Deployment", "rel-app"))["image"].endswith(f"@{digest}")
    # the stable digest must not pin the canary's different tag
    assert (
        container(manifests.get("Deployment", "rel-app-canary"))["image"]
        == "docker.io/traefik/whoami:v1.10.4"
    )


# -- availability and network --------------------------------------------------------------


def test_pdb_covers_every_track(render: RenderFn) -> None:
    pdb = render(CHART, values_files=[scenario("pdb-netpol")]).get("PodDisruptionBudget", "rel-app")
    assert pdb["spec"] == {"minAvailable": 2, "selector": {"matchLabels": BASE_SELECTOR}}
    default = render(CHART).get("PodDisruptionBudget", "rel-app")["spec"]
    assert default["maxUnavailable"] == 1 and "minAvailable" not in default


def test_network_policy_admits_the_ingress_controller_and_the_release(render: RenderFn) -> None:
    policy = render(CHART, values_files=[scenario("pdb-netpol")]).get("NetworkPolicy", "rel-app")
    spec = policy["spec"]
    assert spec["podSelector"] == {"matchLabels": BASE_SELECTOR}
    assert spec["policyTypes"] == ["Ingress"]
    [rule] = spec["ingress"]
    assert rule["from"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "traefik"}},
        },
        {"podSelector": {"matchLabels": {"app.kubernetes.io/instance": "rel"}}},
    ]
    assert rule["ports"] == [{"port": 8080, "protocol": "TCP"}]


def test_topology_spread_defaults_to_this_deployments_pods(render: RenderFn) -> None:
    spec = render(CHART, values_files=[scenario("pdb-netpol")]).get("Deployment", "rel-app")[
        "spec"
    ]["template"]["spec"]
    [constraint] = spec["topologySpreadConstraints"]
    assert constraint["labelSelector"] == {"matchLabels": {**BASE_SELECTOR, TRACK: "stable"}}


# -- helm test, globals, extras ---------------------------------------------------------------


def test_helm_test_pod_requests_the_service(render: RenderFn) -> None:
    pod = render(CHART).get("Pod", "rel-app-test-connection")
    assert pod["metadata"]["annotations"] == {
        "helm.sh/hook": "test",
        "helm.sh/hook-delete-policy": "before-hook-creation,hook-succeeded",
    }
    assert pod["spec"]["restartPolicy"] == "Never"
    assert pod["spec"]["containers"][0]["command"][-1] == "http://rel-app:80/health/ready"


def test_global_registry_and_pull_secrets_reach_every_pod(render: RenderFn) -> None:
    manifests = render(
        CHART,
        {
            "global": {"imageRegistry": "mirror.local", "imagePullSecrets": ["corp"]},
            "imagePullSecrets": [{"name": "app"}],
        },
    )
    for name, spec in pod_specs(manifests):
        assert spec["imagePullSecrets"] == [{"name": "corp"}, {"name": "app"}], name
        assert all(c["image"].startswith("mirror.local/") for c in spec["containers"]), name


def test_extra_objects_and_common_metadata(render: RenderFn) -> None:
    manifests = render(
        CHART,
        {
            "commonAnnotations": {"owner": "payments"},
            "extraObjects": [
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "{{ .Release.Name }}-extra"},
                }
            ],
        },
    )
    assert manifests.names("ConfigMap") == ["rel-extra"]
    for obj in manifests.objects:
        if obj["metadata"]["name"] != "rel-extra" and obj["kind"] != "Pod":
            assert obj["metadata"]["annotations"]["owner"] == "payments", obj["kind"]


# -- schema -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"imag": {"tag": "v1"}}, "imag"),
        ({"service": {"prot": 80}}, "prot"),
        ({"service": {"prot": None}}, "prot"),  # helm keeps a null for an unknown key
        ({"replicaCount": "three"}, "/replicaCount"),
        ({"image": {"tag": "latest"}}, "/image/tag"),
        ({"rollout": {"strategy": "bluegreen"}}, "/rollout/strategy"),
        ({"rollout": {"strategy": "canary", "canary": {"tag": "latest"}}}, "/rollout/canary/tag"),
        ({"rollout": {"canary": {"weight": 110}}}, "/rollout/canary/weight"),
        ({"probes": {"liveness": {"enabled": "yes"}}}, "/probes/liveness/enabled"),
    ],
)
@pytest.mark.parametrize("engine", ["binary", "sdk"])
def test_helm_rejects_bad_values_naming_the_field(
    render_error: RenderErrorFn, values: dict[str, Any], field: str, engine: str
) -> None:
    """helm names the field as a JSON pointer; the SDK path validates in Python and
    names it as a dotted path."""
    message = render_error(CHART, values, engine=engine)  # type: ignore[arg-type]
    expected = field if engine == "binary" else field.strip("/").replace("/", ".")
    assert expected in message


def schema_validator() -> jsonschema.Draft7Validator:
    schema = json.loads((CHART_DIR / "values.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def test_python_jsonschema_names_the_field() -> None:
    validator = schema_validator()
    defaults = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    assert list(validator.iter_errors(defaults)) == []
    bad = {**defaults, "image": {**defaults["image"], "tag": "latest"}}
    [error] = validator.iter_errors(bad)
    assert list(error.absolute_path) == ["image", "tag"]
    typo = {**defaults, "replicaCont": 2}
    [error] = validator.iter_errors(typo)
    assert "replicaCont" in error.message


def test_global_accepts_keys_meant_for_other_subcharts() -> None:
    defaults = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    values = {**defaults, "global": {**defaults["global"], "postgresql": {"x": 1}}}
    assert list(schema_validator().iter_errors(values)) == []


@pytest.mark.parametrize("values_file", SCENARIOS, ids=lambda p: p.name)
def test_scenarios_satisfy_the_schema(values_file: Path) -> None:
    defaults = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    merged = _merge(defaults, yaml.safe_load(values_file.read_text()) or {})
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in schema_validator().iter_errors(merged)
    ]
    assert errors == []


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def test_init_containers_are_restricted_and_templated(render: RenderFn) -> None:
    manifests = render(CHART, values_files=[scenario("init-wait")])
    spec = manifests.get("Deployment", "rel-app")["spec"]["template"]["spec"]
    [init] = spec["initContainers"]
    assert init["securityContext"]["readOnlyRootFilesystem"] is True
    assert init["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert init["resources"] == spec["containers"][0]["resources"]
    assert (
        env_of(manifests.get("Deployment", "rel-app"))["SELF_URL"]["value"] == "http://rel-app:80"
    )


def test_init_container_cannot_weaken_the_security_context(render: RenderFn) -> None:
    spec = render(
        CHART,
        {
            "initContainers": [
                {
                    "name": "chown",
                    "image": "docker.io/busybox:1.37.0",
                    "securityContext": {"runAsUser": 1000},
                    "resources": {
                        "requests": {"cpu": "5m", "memory": "8Mi"},
                        "limits": {"memory": "8Mi"},
                    },
                }
            ]
        },
    ).get("Deployment", "rel-app")["spec"]["template"]["spec"]
    [init] = spec["initContainers"]
    assert init["securityContext"]["runAsUser"] == 1000
    assert init["securityContext"]["allowPrivilegeEscalation"] is False
    assert init["resources"]["limits"] == {"memory": "8Mi"}


def test_umbrella_condition_key_is_accepted(render: RenderFn) -> None:
    """An umbrella's `condition: app.enabled` passes `enabled` down; the strict schema allows it."""
    assert render(CHART, {"enabled": True}).names("Deployment") == ["rel-app"]


# -- refused by the schema (found by the schema fuzz test) ------------------------------------


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"securityContext": {"privileged": True}}, "securityContext.privileged"),
        ({"securityContext": {"allowPrivilegeEscalation": True}}, "allowPrivilegeEscalation"),
        ({"securityContext": {"runAsUser": 0}}, "securityContext.runAsUser"),
        ({"securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}, "capabilities.add"),
        ({"securityContext": {"capabilities": {"drop": []}}}, "capabilities.drop"),
        ({"podSecurityContext": {"runAsNonRoot": False}}, "podSecurityContext.runAsNonRoot"),
        ({"securityContext": {"readOnlyRootFilesystem": False}}, "podAnnotations"),
        ({"podDisruptionBudget": {"minAvailable": 1, "maxUnavailable": 1}}, "podDisruptionBudget"),
        ({"extraObjects": ["kind: ConfigMap"]}, "extraObjects[0]"),
    ],
)
def test_schema_refuses_insecure_or_unrenderable_values(
    render_error: RenderErrorFn, values: dict[str, Any], field: str
) -> None:
    """Python-side validation (SDK engine) names the field as a dotted path."""
    message = render_error(CHART, values, engine="sdk")
    assert field in message, message


def test_writable_root_fs_with_its_reason_renders(render: RenderFn) -> None:
    reason = "charthouse.dev/writable-root-fs"
    manifests = render(
        CHART,
        {"securityContext": {"readOnlyRootFilesystem": False}, "podAnnotations": {reason: "cache"}},
    )
    deployment = manifests.get("Deployment", "rel-app")
    assert container(deployment)["securityContext"]["readOnlyRootFilesystem"] is False
    assert deployment["spec"]["template"]["metadata"]["annotations"][reason] == "cache"


def test_later_extra_env_entry_replaces_an_earlier_one(render: RenderFn) -> None:
    extra_env = [{"name": "A", "value": "1"}, {"name": "B"}, {"name": "A", "value": "2"}]
    manifests = render(CHART, {"extraEnv": extra_env})
    names = [e["name"] for e in container(manifests.get("Deployment", "rel-app"))["env"]]
    assert names == ["B", "A"]
    assert env_of(manifests.get("Deployment", "rel-app"))["A"]["value"] == "2"


# -- the helm create layout ------------------------------------------------------------

HELM_CREATE_STYLE = Path(__file__).parent / "fixtures" / "helm-create-style-values.yaml"


@pytest.mark.parametrize(("helm", "engine"), ENGINES)
def test_a_helm_create_style_values_file_renders_as_written(
    render: RenderFn, helm: int, engine: render_choices.Engine
) -> None:
    """A typical service's values, in the `helm create` layout, used unchanged."""
    manifests = render(CHART, values_files=[HELM_CREATE_STYLE], helm=helm, engine=engine)
    deployment = manifests.get("Deployment", "rel-app")
    app = container(deployment)
    assert app["image"] == "docker.io/myapp/api:1.0.0"
    assert app["env"] == [{"name": "LOG_LEVEL", "value": "info"}]
    assert app["resources"] == {
        "requests": {"memory": "256Mi", "cpu": "250m"},
        "limits": {"memory": "512Mi", "cpu": "500m"},
    }
    assert "replicas" not in deployment["spec"]
    hpa = manifests.get("HorizontalPodAutoscaler", "rel-app")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 10)
    assert hpa["metrics"] == [utilization("cpu", 70)]
    ingress = manifests.get("Ingress", "rel-app")
    assert (
        ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-prod"
    )
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"secretName": "api-tls", "hosts": ["api.example.com"]}]
    assert ingress["spec"]["rules"][0]["host"] == "api.example.com"


def test_a_helm_create_style_values_file_validates_unchanged() -> None:
    """charthouse validate's checks (schema, helm 3 and 4, every Kubernetes version,
    strict object schemas, security policy) pass for that file as it is."""
    from charthouse.charts import load_chart
    from charthouse.validate import Scenario, run_scenario

    result = run_scenario(
        load_chart(CHART_DIR),
        Scenario("helm-create-style", HELM_CREATE_STYLE),
        render_choices.SUPPORTED_KUBE_VERSIONS,
        (3, 4),
    )
    assert result.failures == []
    assert result.renders == 2 * len(render_choices.SUPPORTED_KUBE_VERSIONS)


@pytest.fixture(scope="module", params=[3, 4], ids=["helm3", "helm4"])
def helm_create_values(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The values.yaml `helm create` writes, from the pinned helm itself."""
    from charthouse import tools
    from charthouse.proc import run

    workdir = tmp_path_factory.mktemp(f"helm{request.param}-create")
    run([tools.ensure_tool(f"helm{request.param}"), "create", "example"], cwd=workdir)
    return workdir / "example" / "values.yaml"


def test_helm_create_values_render_once_the_tag_is_pinned(
    render: RenderFn, helm_create_values: Path, tmp_path: Path
) -> None:
    """Every key of helm create's own values.yaml is accepted in its shape: complete
    probes, serviceAccount.automount, volumes/volumeMounts, an empty ingress class."""
    values = yaml.safe_load(helm_create_values.read_text())
    values["image"]["tag"] = "1.27.0"
    pinned = tmp_path / "values.yaml"
    pinned.write_text(yaml.safe_dump(values))
    manifests = render(CHART, values_files=[pinned])
    deployment = manifests.get("Deployment", "rel-app")
    app = container(deployment)
    assert app["image"] == "docker.io/nginx:1.27.0"
    assert app["livenessProbe"] == {"httpGet": {"path": "/", "port": "http"}}
    assert app["readinessProbe"] == {"httpGet": {"path": "/", "port": "http"}}
    # no /health/startup on nginx: the startup probe checks the liveness handler
    assert app["startupProbe"]["httpGet"] == {"path": "/", "port": "http"}
    assert deployment["spec"]["template"]["spec"]["automountServiceAccountToken"] is True
    assert manifests.get("ServiceAccount", "rel-app")["automountServiceAccountToken"] is True
    assert check_objects(manifests, render_choices.DEFAULT_KUBE_VERSION) == []


def test_helm_create_values_with_an_empty_tag_fail_naming_the_field(
    render_error: RenderErrorFn, helm_create_values: Path
) -> None:
    """`tag: ""` means the chart's appVersion; this chart's is the default image's
    version, not nginx's: the schema refuses it for any other image, naming image.tag,
    rather than the chart pulling nginx:v1.11.0."""
    for engine in ("binary", "sdk"):
        message = render_error(CHART, values_files=[helm_create_values], engine=engine)
        assert "image.tag" in message or "/image/tag" in message, message


def test_the_template_names_the_fix_when_schema_validation_is_skipped(
    helm_create_values: Path,
) -> None:
    """`helm template --skip-schema-validation` still cannot render nginx:v1.11.0."""
    from charthouse import tools
    from charthouse.chartdeps import ensure_dependencies
    from charthouse.proc import run

    helm = tools.ensure_tool("helm4")
    ensure_dependencies(CHART_DIR, helm)
    result = run(
        [helm, "template", "rel", CHART_DIR, "-f", helm_create_values, "--skip-schema-validation"],
        check=False,
        timeout=120,
    )
    assert result.returncode != 0
    assert "image.tag: empty means the chart's appVersion (v1.11.0)" in result.stderr
    assert "not of nginx" in result.stderr


def test_an_empty_tag_means_the_app_version_for_the_default_image(render: RenderFn) -> None:
    app = container(render(CHART, {"image": {"tag": ""}}).get("Deployment", "rel-app"))
    assert app["image"] == "docker.io/traefik/whoami:v1.11.0"


def test_the_default_image_helper_names_the_default_repository() -> None:
    defaults = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    helpers = (CHART_DIR / "templates" / "_helpers.tpl").read_text()
    assert '{{- define "app.defaultImage" -}}' + defaults["image"]["repository"] in helpers


def test_env_list_entries_keep_their_order_and_later_ones_win(render: RenderFn) -> None:
    env = [
        {"name": "PORT", "value": 8080},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "DEBUG", "value": True},
        {"name": "PORT", "value": "9090"},
    ]
    app = container(render(CHART, {"env": env}).get("Deployment", "rel-app"))
    assert app["env"] == [
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "DEBUG", "value": "true"},
        {"name": "PORT", "value": "9090"},
    ]


def test_env_list_and_extra_env_may_not_set_one_name_twice(render_error: RenderErrorFn) -> None:
    message = render_error(
        CHART, {"env": [{"name": "A", "value": "1"}], "extraEnv": [{"name": "A", "value": "2"}]}
    )
    assert "extraEnv[0]" in message and "env[0]" in message


def test_helm_create_volumes_are_added_after_the_extra_ones(render: RenderFn) -> None:
    values = {
        "extraVolumes": [{"name": "a", "emptyDir": {}}],
        "volumes": [{"name": "b", "secret": {"secretName": "s"}}],
        "volumeMounts": [{"name": "b", "mountPath": "/etc/b", "readOnly": True}],
    }
    deployment = render(CHART, values).get("Deployment", "rel-app")
    volumes = deployment["spec"]["template"]["spec"]["volumes"]
    assert [v["name"] for v in volumes][-2:] == ["a", "b"]
    assert container(deployment)["volumeMounts"][-1]["mountPath"] == "/etc/b"
