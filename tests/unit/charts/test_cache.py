"""charts/cache: what a user of the Valkey chart relies on, asserted on rendered objects.

What offline rendering cannot show is left to the integration suite and named there:
``lookup`` (password reuse on upgrade, the volumeClaimTemplate guard) returns nothing
under ``helm template``, and only a running pod shows that a key survives an upgrade,
a pod kill and a reinstall. The shell scripts the chart ships (start, probes, helm
test) run against a real local server in ``test_cache_scripts.py``.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from charthouse.manifests import Manifests
from support.podspec import container, env, mounts, volumes
from support.rendering import RenderErrorFn, RenderFn, names_field

CHART = "cache"
CHART_DIR = Path(__file__).resolve().parents[3] / "charts" / CHART
STS = "rel-cache"
TEST_POD = "rel-cache-test-connection"
SELECTOR = {
    "app.kubernetes.io/name": "cache",
    "app.kubernetes.io/instance": "rel",
    "app.kubernetes.io/component": "primary",
}
SCRIPTS = "/opt/charthouse/scripts"
VALKEY = "valkey"


def scenario(name: str) -> Path:
    return CHART_DIR / "ci" / f"{name}-values.yaml"


def sts(m: Manifests) -> dict[str, Any]:
    return m.get("StatefulSet", STS)


def pod_spec(m: Manifests) -> dict[str, Any]:
    spec: dict[str, Any] = sts(m)["spec"]["template"]["spec"]
    return spec


def secret_data(m: Manifests, name: str = STS) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in m.get("Secret", name)["data"].items()}


def valkey_conf(m: Manifests) -> dict[str, str]:
    """valkey.conf as directive -> raw value text (quotes included)."""
    text = m.get("ConfigMap", "rel-cache-config")["data"]["valkey.conf"]
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return dict(line.split(" ", 1) for line in lines)


def chart_app_version() -> str:
    return str(yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())["appVersion"])


# -- image and pod security ---------------------------------------------------


def test_runs_the_official_valkey_image_pinned_to_app_version(render: RenderFn) -> None:
    image = container(pod_spec(render(CHART)), VALKEY)["image"]
    assert chart_app_version() == "8.1.1"
    assert image == "docker.io/valkey/valkey:8.1.1"
    test_image = render(CHART).get("Pod", TEST_POD)["spec"]["containers"][0]["image"]
    assert test_image == image  # helm test uses the server's own valkey-cli


def test_runs_as_uid_999_non_root_with_fsgroup_999(render: RenderFn) -> None:
    psc = pod_spec(render(CHART))["securityContext"]
    assert (psc["runAsUser"], psc["runAsGroup"], psc["fsGroup"]) == (999, 999, 999)
    assert psc["runAsNonRoot"] is True
    assert psc["seccompProfile"] == {"type": "RuntimeDefault"}


def test_root_filesystem_is_read_only_and_only_data_and_tmp_are_writable(
    render: RenderFn,
) -> None:
    spec = pod_spec(render(CHART))
    valkey = container(spec, VALKEY)
    sc = valkey["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    writable = {path for path, m in mounts(valkey).items() if path in ("/data", "/tmp")}
    assert writable == {"/data", "/tmp"}
    read_only = {m["mountPath"] for m in valkey["volumeMounts"] if m.get("readOnly")}
    assert read_only == {"/etc/valkey", SCRIPTS, "/run/secrets/cache"}
    assert volumes(spec)["tmp"] == {"name": "tmp", "emptyDir": {}}


def test_no_init_container_and_no_token(render: RenderFn) -> None:
    m = render(CHART)
    assert "initContainers" not in pod_spec(m)
    assert pod_spec(m)["automountServiceAccountToken"] is False
    assert m.get("ServiceAccount", STS)["automountServiceAccountToken"] is False


@pytest.mark.parametrize(
    "values_file",
    [None, scenario("metrics"), scenario("existing-secret"), scenario("production")],
    ids=["defaults", "metrics", "existing-secret", "production"],
)
def test_the_only_pods_are_the_server_and_its_helm_test(
    render: RenderFn, values_file: Path | None
) -> None:
    """Pod Security and the production rules on every pod of every scenario are checked
    across all charts (test_scenarios.py); here, which pods the cache has."""
    m = render(CHART, values_files=[values_file] if values_file else [])
    owners = {(p.owner["kind"], p.owner["metadata"]["name"]) for p in m.pod_templates()}
    assert owners == {("StatefulSet", STS), ("Pod", TEST_POD)}


# -- the password: a file, never the pod spec ---------------------------------------


def test_the_password_reaches_the_server_only_as_a_secret_file(render: RenderFn) -> None:
    password = "unique-pw-7f3a9c"
    m = render(CHART, {"auth": {"password": password}})
    spec = pod_spec(m)
    valkey = container(spec, VALKEY)
    # Not in the pod spec, not in any environment variable (not even by reference),
    # not on the command line, not in the config file.
    assert password not in json.dumps(sts(m)) + json.dumps(m.get("Pod", TEST_POD))
    assert "env" not in valkey
    assert valkey["command"] == ["sh", f"{SCRIPTS}/start.sh"]
    assert "args" not in valkey
    assert "requirepass" not in valkey_conf(m)
    # The Secret's key, mounted as the file start.sh and the probes read.
    assert mounts(valkey)["/run/secrets/cache"] == "password"
    assert volumes(spec)["password"]["secret"] == {
        "secretName": STS,
        "defaultMode": 0o440,  # readable by the pod's fsGroup, the server's group
        "items": [{"key": "password", "path": "password"}],
    }
    assert secret_data(m)["password"] == password


def test_start_script_hands_the_password_over_stdin(render: RenderFn) -> None:
    script = render(CHART).get("ConfigMap", "rel-cache-scripts")["data"]["start.sh"]
    assert script == (CHART_DIR / "files" / "start.sh").read_text()
    assert 'exec valkey-server "$config_file" - <<CONFIG' in script
    assert 'requirepass "$escaped"' in script


def test_only_the_optional_exporter_takes_the_password_from_the_environment(
    render: RenderFn,
) -> None:
    spec = pod_spec(render(CHART, values_files=[scenario("metrics")]))
    assert "env" not in container(spec, VALKEY)
    exporter = container(spec, "metrics")
    assert env(exporter)["REDIS_PASSWORD"] == {"secretKeyRef": {"name": STS, "key": "password"}}


# -- probes --------------------------------------------------------------------------


def test_liveness_and_readiness_check_different_things(render: RenderFn) -> None:
    valkey = container(pod_spec(render(CHART)), VALKEY)
    command = {p: valkey[p]["exec"]["command"] for p in ("startupProbe", "livenessProbe")}
    command["readinessProbe"] = valkey["readinessProbe"]["exec"]["command"]
    assert command["livenessProbe"] == ["sh", f"{SCRIPTS}/probe.sh", "live"]
    assert command["startupProbe"] == command["livenessProbe"]
    assert command["readinessProbe"] == ["sh", f"{SCRIPTS}/probe.sh", "ready"]
    script = (CHART_DIR / "files" / "probe.sh").read_text()
    assert "live:LOADING* | live:BUSY*) exit 0" in script  # alive, not ready
    assert "REDISCLI_AUTH" in script and " -a " not in script


def test_probes_can_be_tuned_and_disabled(render: RenderFn) -> None:
    probes = {
        "startup": {"enabled": False},
        "readiness": {"periodSeconds": 2, "failureThreshold": 1},
    }
    valkey = container(pod_spec(render(CHART, {"probes": probes})), VALKEY)
    assert "startupProbe" not in valkey
    assert valkey["readinessProbe"]["periodSeconds"] == 2
    assert valkey["readinessProbe"]["failureThreshold"] == 1


# -- workload shape ------------------------------------------------------------------


def test_statefulset_with_headless_and_clusterip_services(render: RenderFn) -> None:
    m = render(CHART)
    s = sts(m)
    assert s["spec"]["replicas"] == 1
    assert s["spec"]["serviceName"] == "rel-cache-hl"
    assert s["spec"]["selector"]["matchLabels"] == SELECTOR
    headless = m.get("Service", "rel-cache-hl")["spec"]
    assert headless["clusterIP"] == "None" and headless["publishNotReadyAddresses"] is True
    client = m.get("Service", STS)["spec"]
    assert client["type"] == "ClusterIP"
    assert client["ports"] == [
        {"name": "tcp-valkey", "port": 6379, "targetPort": "tcp-valkey", "protocol": "TCP"}
    ]
    assert headless["selector"] == client["selector"] == SELECTOR
    assert container(pod_spec(m), VALKEY)["ports"] == [
        {"name": "tcp-valkey", "containerPort": 6379, "protocol": "TCP"}
    ]


# -- persistence (the claim template: test_data_volumes.py) -----------------------------


def test_the_append_only_file_is_on_the_data_volume(render: RenderFn) -> None:
    """The claim template itself behaves as in every data chart (test_data_volumes.py)."""
    m = render(CHART)
    assert mounts(container(pod_spec(m), VALKEY))["/data"] == "data"
    conf = valkey_conf(m)
    assert (conf["appendonly"], conf["dir"]) == ('"yes"', '"/data"')


# -- credentials ---------------------------------------------------------------------------


def test_secret_holds_the_password_and_a_connection_uri(render: RenderFn) -> None:
    data = secret_data(render(CHART, {"auth": {"password": "pw"}}))
    assert data == {
        "password": "pw",
        "uri": "redis://default:pw@rel-cache.default.svc.cluster.local:6379/0",
        "host": "rel-cache.default.svc.cluster.local",
        "port": "6379",
    }


def test_uri_follows_the_service_port_namespace_and_cluster_domain(render: RenderFn) -> None:
    m = render(
        CHART,
        {"auth": {"password": "pw"}, "service": {"port": 6380}, "clusterDomain": "corp.local"},
        namespace="shop",
    )
    assert secret_data(m)["uri"] == "redis://default:pw@rel-cache.shop.svc.corp.local:6380/0"
    assert m.get("Service", STS)["spec"]["ports"][0]["port"] == 6380
    assert m.get("Service", STS)["spec"]["ports"][0]["targetPort"] == "tcp-valkey"


def test_uri_percent_encodes_the_password(render: RenderFn) -> None:
    password = "p@ss w:rd/+?#%'\""
    uri = secret_data(render(CHART, {"auth": {"password": password}}))["uri"]
    parts = urlsplit(uri)
    assert parts.scheme == "redis" and parts.username == "default"
    assert (parts.hostname, parts.port, parts.path) == (
        "rel-cache.default.svc.cluster.local",
        6379,
        "/0",
    )
    assert unquote(parts.password or "") == password


def test_generated_password_is_strong_and_in_the_uri(render: RenderFn) -> None:
    data = secret_data(render(CHART))
    assert len(data["password"]) == 32 and data["password"].isalnum()
    assert f":{data['password']}@" in data["uri"]


def test_generated_passwords_never_reach_the_pod_template(render: RenderFn) -> None:
    """No checksum of a generated Secret sits on the pod template: it would roll the
    pod on every GitOps render."""
    a = render(CHART, set_values=["nameOverride=cache"])  # a second, independent helm run
    b = render(CHART)
    assert sts(a)["spec"]["template"] == sts(b)["spec"]["template"]
    assert secret_data(a)["password"] != secret_data(b)["password"]


def test_explicit_password_renders_a_byte_identical_secret(render: RenderFn) -> None:
    first = render(CHART, {"auth": {"password": "pw"}}).get("Secret", STS)
    second = render(CHART, set_values=["auth.password=pw"]).get("Secret", STS)
    assert first == second


def test_changing_an_explicit_password_restarts_the_server(render: RenderFn) -> None:
    def annotations(pw: str) -> dict[str, str]:
        tpl = sts(render(CHART, {"auth": {"password": pw}}))["spec"]["template"]
        return dict(tpl["metadata"]["annotations"])

    assert annotations("one")["checksum/auth"] != annotations("two")["checksum/auth"]


def test_existing_secret_renders_no_secret_and_is_referenced_everywhere(
    render: RenderFn,
) -> None:
    m = render(CHART, values_files=[scenario("existing-secret")])
    assert m.names("Secret") == ["app-cache-credentials"]  # from extraObjects, not the chart
    item = {"key": "cache-password", "path": "password"}
    assert volumes(pod_spec(m))["password"]["secret"]["secretName"] == "app-cache-credentials"
    assert volumes(pod_spec(m))["password"]["secret"]["items"] == [item]
    test_volumes = volumes(m.get("Pod", TEST_POD)["spec"])
    assert test_volumes["password"]["secret"]["secretName"] == "app-cache-credentials"
    assert test_volumes["password"]["secret"]["items"] == [item]


def test_a_uri_key_that_is_also_the_password_key_keeps_the_password(render: RenderFn) -> None:
    keys = {"passwordKey": "REDIS", "uriKey": "REDIS"}
    data = secret_data(render(CHART, {"auth": {"password": "pw", "secretKeys": keys}}))
    assert data == {"REDIS": "pw", "host": "rel-cache.default.svc.cluster.local", "port": "6379"}


def test_secret_keys_may_be_any_valid_key_name(render: RenderFn) -> None:
    keys = {"passwordKey": "0", "uriKey": "REDIS_URL"}
    m = render(CHART, {"auth": {"secretKeys": keys, "password": "pw"}})
    data = secret_data(m)
    assert data["0"] == "pw" and data["REDIS_URL"].startswith("redis://default:pw@")
    assert volumes(pod_spec(m))["password"]["secret"]["items"] == [{"key": "0", "path": "password"}]


# -- configuration ----------------------------------------------------------------------------


def test_defaults_run_with_an_append_only_file_and_a_memory_cap(render: RenderFn) -> None:
    conf = valkey_conf(render(CHART))
    assert conf == {
        "appendfsync": '"everysec"',
        "appendonly": '"yes"',
        "bind": '"* -::*"',
        "daemonize": '"no"',
        "dir": '"/data"',
        "logfile": '""',
        "maxmemory": '"256mb"',
        "maxmemory-policy": '"noeviction"',
        "pidfile": '""',
        "port": '"6379"',
        "supervised": '"no"',
    }


def test_config_parameters_override_defaults_and_are_quoted(render: RenderFn) -> None:
    conf = valkey_conf(render(CHART, values_files=[scenario("lru-cache")]))
    assert conf["appendonly"] == '"no"'  # a boolean becomes yes/no
    assert conf["save"] == '""'  # empty: no RDB snapshots
    assert conf["maxmemory-policy"] == '"allkeys-lru"'
    assert conf["lazyfree-lazy-eviction"] == '"yes"'
    conf = valkey_conf(
        render(
            CHART,
            {
                "config": {
                    "parameters": {
                        "hz": 1000000,
                        "maxmemory": 0,
                        "notify-keyspace-events": 'E"x\\',
                    },
                }
            },
        )
    )
    assert conf["hz"] == '"1000000"'  # not 1e+06
    assert conf["maxmemory"] == '"0"'  # 0 (no cap) is a value, not "unset"
    assert conf["notify-keyspace-events"] == '"E\\"x\\\\"'


def test_config_change_restarts_the_pod(render: RenderFn) -> None:
    def checksum(values: dict[str, Any]) -> str:
        annotations = sts(render(CHART, values))["spec"]["template"]["metadata"]["annotations"]
        return str(annotations["checksum/configmap"])

    assert checksum({}) != checksum({"config": {"parameters": {"maxmemory": "300mb"}}})


@pytest.mark.parametrize("key", ["port", "dir", "requirepass", "include", "rename-command"])
def test_chart_managed_directives_cannot_be_set(render_error: RenderErrorFn, key: str) -> None:
    assert key in render_error(CHART, {"config": {"parameters": {key: "x"}}})


def test_a_value_cannot_add_directives(render_error: RenderErrorFn) -> None:
    message = render_error(CHART, {"config": {"parameters": {"maxmemory": '1mb\nrequirepass ""'}}})
    assert "maxmemory" in message


# -- metrics, network, disruption ------------------------------------------------------------


def test_metrics_sidecar_service_and_optional_servicemonitor(render: RenderFn) -> None:
    m = render(CHART, values_files=[scenario("metrics")])
    exporter = container(pod_spec(m), "metrics")
    assert exporter["image"] == "docker.io/oliver006/redis_exporter:v1.74.0"
    assert exporter["args"] == [
        "--redis.addr=redis://127.0.0.1:6379",
        "--web.listen-address=:9121",
        "--include-system-metrics",
    ]
    assert exporter["ports"] == [{"name": "http-metrics", "containerPort": 9121, "protocol": "TCP"}]
    assert exporter["livenessProbe"]["httpGet"]["path"] == "/health"
    assert m.get("Service", "rel-cache-metrics")["spec"]["ports"][0]["port"] == 9121
    assert m.of_kind("ServiceMonitor") == []
    sm = render(CHART, values_files=[scenario("servicemonitor")]).get("ServiceMonitor", STS)
    assert sm["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert sm["spec"]["endpoints"][0]["port"] == "http-metrics"
    assert sm["spec"]["endpoints"][0]["interval"] == "15s"


def test_no_metrics_by_default(render: RenderFn) -> None:
    m = render(CHART)
    assert [c["name"] for c in pod_spec(m)["containers"]] == ["valkey"]
    assert m.find("Service", "rel-cache-metrics") is None


def test_network_policy_admits_the_release_and_labelled_clients_only(render: RenderFn) -> None:
    policy_spec = render(CHART).get("NetworkPolicy", STS)["spec"]
    assert policy_spec["podSelector"]["matchLabels"] == SELECTOR
    (rule,) = policy_spec["ingress"]
    assert rule["ports"] == [{"port": "tcp-valkey", "protocol": "TCP"}]
    assert {"podSelector": {"matchLabels": {"app.kubernetes.io/instance": "rel"}}} in rule["from"]
    assert {"podSelector": {"matchLabels": {"charthouse.dev/cache-client": "rel-cache"}}} in rule[
        "from"
    ]
    open_rule = render(CHART, {"networkPolicy": {"allowExternal": True}}).get("NetworkPolicy", STS)
    assert "from" not in open_rule["spec"]["ingress"][0]


def test_network_policy_opens_metrics_to_the_namespace(render: RenderFn) -> None:
    rules = render(CHART, values_files=[scenario("metrics")]).get("NetworkPolicy", STS)["spec"][
        "ingress"
    ]
    metrics = next(r for r in rules if r["ports"][0]["port"] == "http-metrics")
    assert {"podSelector": {}} in metrics["from"]
    assert any("namespaceSelector" in peer for peer in metrics["from"])


def test_pdb_is_opt_in_and_production_blocks_evictions(render: RenderFn) -> None:
    assert render(CHART).of_kind("PodDisruptionBudget") == []
    pdb = render(CHART, values_files=[scenario("production")]).get("PodDisruptionBudget", STS)
    assert pdb["spec"]["maxUnavailable"] == 0 and "minAvailable" not in pdb["spec"]
    assert pdb["spec"]["selector"]["matchLabels"] == SELECTOR


def test_helm_test_pod_pings_through_the_service_with_the_password_file(
    render: RenderFn,
) -> None:
    m = render(CHART)
    pod = m.get("Pod", TEST_POD)
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    test = pod["spec"]["containers"][0]
    assert test["command"] == ["sh", f"{SCRIPTS}/test-connection.sh"]
    assert env(test) == {"CACHE_HOST": STS, "CACHE_PORT": "6379"}
    assert mounts(test)["/run/secrets/cache"] == "password"
    assert volumes(pod["spec"])["password"] == volumes(pod_spec(m))["password"]
    # Labelled with the release, so the NetworkPolicy admits it.
    assert pod["metadata"]["labels"]["app.kubernetes.io/instance"] == "rel"


# -- schema ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"persistance": {"size": "1Gi"}}, "persistance"),
        ({"auth": {"pasword": "x"}}, "pasword"),
        ({"auth": {"secretKeys": {"passwordkey": "x"}}}, "passwordkey"),
        ({"metrics": {"serviceMonitor": {"enable": True}}}, "enable"),
        ({"persistence": {"size": 10}}, "persistence.size"),
        ({"image": {"tag": "latest"}}, "image.tag"),
        ({"metrics": {"image": {"tag": ""}}}, "metrics.image.tag"),
        ({"service": {"type": "ExternalName"}}, "service.type"),
        ({"config": {"parameters": {"Max Memory": "1mb"}}}, "config.parameters"),
        ({"config": {"parameters": {"port": 6380}}}, "config.parameters"),
        ({"config": {"parameters": {"maxmemory": {"a": 1}}}}, "config.parameters.maxmemory"),
        ({"securityContext": {"runAsNonRoot": False}}, "securityContext.runAsNonRoot"),
        ({"securityContext": {"readOnlyRootFilesystem": False}}, "readOnlyRootFilesystem"),
        ({"podSecurityContext": {"runAsUser": 0}}, "podSecurityContext.runAsUser"),
        ({"probes": {"liveness": {"periodSeconds": 0}}}, "probes.liveness.periodSeconds"),
        ({"extraObjects": ["kind: ConfigMap"]}, "extraObjects"),
    ],
)
def test_schema_rejects_bad_values_naming_the_field(
    render_error: RenderErrorFn, values: dict[str, Any], field: str
) -> None:
    assert names_field(render_error(CHART, values), field)


def test_schema_accepts_free_form_global_and_the_umbrella_condition(render: RenderFn) -> None:
    render(CHART, {"global": {"imageRegistry": "mirror.example", "other": {"x": 1}}})
    render(CHART, {"enabled": True})


def test_global_image_registry_applies_to_every_image(render: RenderFn) -> None:
    m = render(CHART, {"global": {"imageRegistry": "mirror.example"}, "metrics": {"enabled": True}})
    images = {c["image"] for p in m.pod_templates() for c in p.spec["containers"]}
    assert len(images) == 2 and all(i.startswith("mirror.example/") for i in images)


def test_network_policy_lets_valkey_reach_dns_only(render: RenderFn) -> None:
    dns = {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}
    spec = render(CHART).get("NetworkPolicy", STS)["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"] and spec["egress"] == [dns]
    off = render(CHART, {"networkPolicy": {"egress": {"enabled": False}}})
    assert "egress" not in off.get("NetworkPolicy", STS)["spec"]
