"""charts/ingress: what a cluster operator relies on from the edge controller."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from charthouse.manifests import Manifests
from charthouse.paths import CHARTS_DIR
from support.rendering import RenderErrorFn, RenderFn, names_field

CHART = "ingress"
FULLNAME = "rel-ingress"  # release "rel" + chart name
SCENARIOS = sorted((CHARTS_DIR / CHART / "ci").glob("*-values.yaml"))
GATEWAY_API = ("gateway.networking.k8s.io/v1",)


def controller(m: Manifests) -> dict[str, Any]:
    workloads = m.of_kind("Deployment") + m.of_kind("DaemonSet")
    assert len(workloads) == 1, [w["kind"] for w in workloads]
    return workloads[0]


def traefik_container(m: Manifests) -> dict[str, Any]:
    containers = controller(m)["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == "traefik")


def static_config(m: Manifests) -> dict[str, Any]:
    cm = m.get("ConfigMap", FULLNAME)
    config: dict[str, Any] = yaml.safe_load(cm["data"]["traefik.yaml"])
    return config


def dynamic_config(m: Manifests) -> dict[str, Any]:
    cm = m.get("ConfigMap", f"{FULLNAME}-dynamic")
    config: dict[str, Any] = yaml.safe_load(cm["data"]["dynamic.yaml"])
    return config


def rbac_rules(m: Manifests) -> list[dict[str, Any]]:
    roles = m.of_kind("ClusterRole")
    assert len(roles) == 1
    rules: list[dict[str, Any]] = roles[0]["rules"]
    return rules


def granted(m: Manifests) -> set[tuple[str, str, str]]:
    """(apiGroup, resource, verb) triples the ClusterRole grants."""
    return {
        (group, resource, verb)
        for rule in rbac_rules(m)
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


# --- IngressClass and providers ------------------------------------------------------


def test_default_ingressclass_is_nginx_claimed_by_the_nginx_provider(render: RenderFn) -> None:
    m = render(CHART)
    ic = m.get("IngressClass", "nginx")
    assert ic["spec"]["controller"] == "k8s.io/ingress-nginx"
    assert "ingressclass.kubernetes.io/is-default-class" not in (
        ic["metadata"].get("annotations") or {}
    )
    nginx = static_config(m)["providers"]["kubernetesIngressNGINX"]
    assert nginx["ingressClass"] == "nginx"
    assert nginx["controllerClass"] == ic["spec"]["controller"]
    assert nginx["allowSnippetAnnotations"] is False
    assert nginx["publishService"] == f"default/{FULLNAME}"
    # Ingress routes only on web/websecure, never on the ping or metrics ports.
    assert (nginx["httpEntryPoint"], nginx["httpsEntryPoint"]) == ("web", "websecure")
    assert "kubernetesIngress" not in static_config(m)["providers"]


def test_ingressclass_name_and_default_annotation(render: RenderFn) -> None:
    m = render(CHART, {"ingressClass": {"name": "edge", "default": True}})
    ic = m.get("IngressClass", "edge")
    assert ic["metadata"]["annotations"]["ingressclass.kubernetes.io/is-default-class"] == "true"
    assert static_config(m)["providers"]["kubernetesIngressNGINX"]["ingressClass"] == "edge"


def test_ingressclass_can_be_left_to_an_existing_one(render: RenderFn) -> None:
    m = render(CHART, {"ingressClass": {"create": False}})
    assert m.of_kind("IngressClass") == []
    assert static_config(m)["providers"]["kubernetesIngressNGINX"]["ingressClass"] == "nginx"


def test_native_provider_alone_takes_over_the_class(render: RenderFn) -> None:
    m = render(
        CHART,
        {
            "providers": {
                "kubernetesIngressNGINX": {"enabled": False},
                "kubernetesIngress": {"enabled": True},
            }
        },
    )
    assert m.get("IngressClass", "nginx")["spec"]["controller"] == "traefik.io/ingress-controller"
    providers = static_config(m)["providers"]
    assert "kubernetesIngressNGINX" not in providers
    assert providers["kubernetesIngress"]["ingressClass"] == "nginx"
    assert (
        providers["kubernetesIngress"]["ingressEndpoint"]["publishedService"]
        == f"default/{FULLNAME}"
    )


def test_both_ingress_providers_get_separate_classes(render: RenderFn) -> None:
    m = render(CHART, {"providers": {"kubernetesIngress": {"enabled": True}}})
    controllers = {
        ic["metadata"]["name"]: ic["spec"]["controller"] for ic in m.of_kind("IngressClass")
    }
    assert controllers == {
        "nginx": "k8s.io/ingress-nginx",
        "traefik": "traefik.io/ingress-controller",
    }
    providers = static_config(m)["providers"]
    assert providers["kubernetesIngress"]["ingressClass"] == "traefik"


def test_numeric_looking_class_names_stay_strings(render: RenderFn) -> None:
    m = render(
        CHART,
        {
            "ingressClass": {"name": "1"},
            "providers": {"kubernetesIngress": {"enabled": True, "ingressClass": "2"}},
        },
    )
    assert sorted(ic["metadata"]["name"] for ic in m.of_kind("IngressClass")) == ["1", "2"]
    providers = static_config(m)["providers"]
    assert providers["kubernetesIngressNGINX"]["ingressClass"] == "1"
    assert providers["kubernetesIngress"]["ingressClass"] == "2"


def test_both_ingress_providers_on_one_class_is_refused(render_error: RenderErrorFn) -> None:
    err = render_error(
        CHART, {"providers": {"kubernetesIngress": {"enabled": True, "ingressClass": "nginx"}}}
    )
    assert "providers.kubernetesIngress.ingressClass" in err


def test_no_provider_at_all_is_refused(render_error: RenderErrorFn) -> None:
    """The schema refuses it (naming ``providers``); the template's fail stays as a
    second line of defence."""
    err = render_error(CHART, {"providers": {"kubernetesIngressNGINX": {"enabled": False}}})
    assert "providers" in err and ("enable at least one" in err or "not valid" in err)


# --- RBAC ----------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.name)
def test_rbac_is_least_privilege_in_every_scenario(render: RenderFn, scenario: Path) -> None:
    m = render(CHART, values_files=[scenario], api_versions=GATEWAY_API)
    for rule in rbac_rules(m):
        assert (
            "*" not in rule["verbs"]
            and "*" not in rule["resources"]
            and "*" not in rule["apiGroups"]
        )
    writes = {(g, r, v) for (g, r, v) in granted(m) if v not in {"get", "list", "watch"}}
    # The only writes are status updates, where the controller publishes its address.
    assert all(r.endswith("/status") and v == "update" for (_, r, v) in writes), writes
    secret_verbs = {v for (g, r, v) in granted(m) if (g, r) == ("", "secrets")}
    assert secret_verbs == {"list", "watch"}


def test_rbac_follows_the_enabled_providers(render: RenderFn) -> None:
    default = granted(render(CHART))
    assert ("networking.k8s.io", "ingresses/status", "update") in default
    assert not any(g == "gateway.networking.k8s.io" for (g, _, _) in default)
    assert ("", "nodes", "list") not in default  # only the native provider watches Nodes
    assert ("", "namespaces", "list") not in default

    gateway_only = granted(
        render(
            CHART,
            {
                "providers": {
                    "kubernetesIngressNGINX": {"enabled": False},
                    "kubernetesGateway": {"enabled": True},
                }
            },
        )
    )
    assert not any(r.startswith("ingress") for (_, r, _) in gateway_only)
    assert ("gateway.networking.k8s.io", "httproutes", "watch") in gateway_only
    assert ("gateway.networking.k8s.io", "gateways/status", "update") in gateway_only
    assert ("gateway.networking.k8s.io", "tcproutes", "list") not in gateway_only

    native = granted(render(CHART, {"providers": {"kubernetesIngress": {"enabled": True}}}))
    assert ("", "nodes", "watch") in native


def test_clusterrole_binds_the_controller_serviceaccount(render: RenderFn) -> None:
    m = render(CHART, namespace="edge")
    binding = m.of_kind("ClusterRoleBinding")[0]
    assert binding["roleRef"]["name"] == m.of_kind("ClusterRole")[0]["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": FULLNAME, "namespace": "edge"}
    ]
    assert controller(m)["spec"]["template"]["spec"]["serviceAccountName"] == FULLNAME


def test_no_rbac_when_disabled(render: RenderFn) -> None:
    m = render(CHART, {"rbac": {"create": False}})
    assert m.of_kind("ClusterRole") == [] and m.of_kind("ClusterRoleBinding") == []


# --- workload: Deployment, DaemonSet, HPA, PDB -----------------------------------------


def test_deployment_has_replicas_without_hpa(render: RenderFn) -> None:
    m = render(CHART, {"controller": {"replicaCount": 3}})
    assert controller(m)["kind"] == "Deployment"
    assert controller(m)["spec"]["replicas"] == 3
    assert m.of_kind("HorizontalPodAutoscaler") == []


def test_no_replicas_field_when_hpa_is_on(render: RenderFn) -> None:
    m = render(CHART, values_files=[CHARTS_DIR / CHART / "ci" / "hpa-values.yaml"])
    assert "replicas" not in controller(m)["spec"]
    hpa = m.get("HorizontalPodAutoscaler", FULLNAME)
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": FULLNAME,
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 5)
    resources = {metric["resource"]["name"] for metric in hpa["spec"]["metrics"]}
    assert resources == {"cpu", "memory"}


def test_daemonset_mode(render: RenderFn) -> None:
    m = render(CHART, values_files=[CHARTS_DIR / CHART / "ci" / "daemonset-values.yaml"])
    ds = m.get("DaemonSet", FULLNAME)
    assert "replicas" not in ds["spec"]
    assert ds["spec"]["updateStrategy"]["type"] == "RollingUpdate"
    assert m.of_kind("Deployment") == []
    assert m.get("Service", FULLNAME)["spec"]["externalTrafficPolicy"] == "Local"


def test_daemonset_with_hpa_is_refused_by_the_schema(render_error: RenderErrorFn) -> None:
    err = render_error(
        CHART, {"controller": {"kind": "DaemonSet"}, "autoscaling": {"enabled": True}}
    )
    assert names_field(err, "autoscaling.enabled")


def test_pdb_selects_the_controller_pods(render: RenderFn) -> None:
    m = render(CHART, {"podDisruptionBudget": {"enabled": True, "maxUnavailable": 1}})
    pdb = m.get("PodDisruptionBudget", FULLNAME)
    assert pdb["spec"]["maxUnavailable"] == 1 and "minAvailable" not in pdb["spec"]
    assert (
        pdb["spec"]["selector"]["matchLabels"] == controller(m)["spec"]["selector"]["matchLabels"]
    )


def test_the_controller_and_its_service_select_name_instance_component(render: RenderFn) -> None:
    """The selector itself; that it stays the same in every scenario is checked across
    all charts in tests/unit/test_chart_invariants.py."""
    expected = {
        "app.kubernetes.io/name": "ingress",
        "app.kubernetes.io/instance": "rel",
        "app.kubernetes.io/component": "controller",
    }
    m = render(CHART, api_versions=GATEWAY_API)
    assert controller(m)["spec"]["selector"]["matchLabels"] == expected
    assert m.get("Service", FULLNAME)["spec"]["selector"] == expected


# --- security ------------------------------------------------------------------------


def test_service_maps_80_and_443_to_unprivileged_entry_points(render: RenderFn) -> None:
    m = render(CHART)
    ports = {p["name"]: p for p in m.get("Service", FULLNAME)["spec"]["ports"]}
    assert (ports["http"]["port"], ports["http"]["targetPort"]) == (80, "web")
    assert (ports["https"]["port"], ports["https"]["targetPort"]) == (443, "websecure")
    container_ports = {p["name"]: p["containerPort"] for p in traefik_container(m)["ports"]}
    assert container_ports["web"] == 8000 and container_ports["websecure"] == 8443
    entry_points = static_config(m)["entryPoints"]
    assert entry_points["web"]["address"] == ":8000"
    assert entry_points["websecure"]["address"] == ":8443"
    assert entry_points["websecure"]["http"]["tls"] == {}


def test_only_the_controller_pod_mounts_an_api_token(render: RenderFn) -> None:
    m = render(CHART)
    assert m.get("ServiceAccount", FULLNAME)["automountServiceAccountToken"] is False
    assert controller(m)["spec"]["template"]["spec"]["automountServiceAccountToken"] is True
    test_pod = m.of_kind("Pod")[0]
    assert test_pod["spec"]["automountServiceAccountToken"] is False


def test_image_is_pinned_and_honours_global_registry(render: RenderFn) -> None:
    assert traefik_container(render(CHART))["image"] == "docker.io/traefik:v3.7.13"
    m = render(
        CHART, {"global": {"imageRegistry": "mirror.example:5000", "imagePullSecrets": ["pull"]}}
    )
    for t in m.pod_templates():
        assert all(
            c["image"].startswith("mirror.example:5000/traefik:") for c in t.spec["containers"]
        )
        assert t.spec["imagePullSecrets"] == [{"name": "pull"}]


@pytest.mark.parametrize("tag", ["latest", ""])
def test_unpinned_image_tag_is_refused(render_error: RenderErrorFn, tag: str) -> None:
    assert names_field(render_error(CHART, {"image": {"tag": tag}}), "image.tag")


def test_typo_key_is_refused(render_error: RenderErrorFn) -> None:
    assert "controler" in render_error(CHART, {"controler": {"kind": "DaemonSet"}})


# --- Gateway API ---------------------------------------------------------------------


def test_gateway_objects_render_only_when_the_crds_are_served(render: RenderFn) -> None:
    values = {"providers": {"kubernetesGateway": {"enabled": True}}}
    without = render(CHART, values)
    assert without.of_kind("GatewayClass") == [] and without.of_kind("Gateway") == []
    assert "kubernetesGateway" in static_config(without)["providers"]

    with_crds = render(CHART, values, api_versions=GATEWAY_API)
    gc = with_crds.get("GatewayClass", "traefik")
    assert gc["spec"]["controllerName"] == "traefik.io/gateway-controller"
    gw = with_crds.get("Gateway", FULLNAME)
    assert gw["spec"]["gatewayClassName"] == "traefik"
    # Traefik binds listeners to the entry point with the same (container) port.
    assert [(lst["name"], lst["port"], lst["protocol"]) for lst in gw["spec"]["listeners"]] == [
        ("web", 8000, "HTTP")
    ]


def test_gateway_objects_absent_while_the_provider_is_off(render: RenderFn) -> None:
    m = render(CHART, api_versions=GATEWAY_API)
    assert m.of_kind("GatewayClass") == [] and m.of_kind("Gateway") == []


def test_gateway_https_listener_follows_the_websecure_port(render: RenderFn) -> None:
    m = render(
        CHART,
        {
            "providers": {"kubernetesGateway": {"enabled": True}},
            "entryPoints": {"websecure": {"port": 9443}},
            "gateway": {"https": {"enabled": True, "certificateRefs": [{"name": "site-tls"}]}},
        },
        api_versions=GATEWAY_API,
    )
    listeners = {lst["name"]: lst for lst in m.get("Gateway", FULLNAME)["spec"]["listeners"]}
    assert listeners["websecure"]["port"] == 9443
    assert listeners["websecure"]["tls"]["certificateRefs"][0]["name"] == "site-tls"
    assert static_config(m)["entryPoints"]["websecure"]["address"] == ":9443"


# --- configuration: TLS, rate limit, logs, metrics, timeouts ------------------------


def test_default_certificate_from_a_secret_without_crds(render: RenderFn) -> None:
    m = render(CHART, values_files=[CHARTS_DIR / CHART / "ci" / "default-tls-values.yaml"])
    store = dynamic_config(m)["tls"]["stores"]["default"]["defaultCertificate"]
    volumes = {v["name"]: v for v in controller(m)["spec"]["template"]["spec"]["volumes"]}
    sources = volumes["dynamic"]["projected"]["sources"]
    secret = next(s["secret"] for s in sources if "secret" in s)
    assert secret["name"] == "rel-default-tls"
    assert m.get("Secret", "rel-default-tls")["type"] == "kubernetes.io/tls"
    paths = {item["path"] for item in secret["items"]}
    assert {Path(store["certFile"]).name, Path(store["keyFile"]).name} == paths
    assert dynamic_config(m)["tls"]["options"]["default"]["minVersion"] == "VersionTLS13"
    assert not any(obj["apiVersion"].startswith("traefik.io") for obj in m)


def test_redirect_to_https(render: RenderFn) -> None:
    m = render(CHART, {"entryPoints": {"web": {"redirectToHttps": True}}})
    redirect = static_config(m)["entryPoints"]["web"]["http"]["redirections"]["entryPoint"]
    assert redirect == {"to": "websecure", "scheme": "https", "permanent": True}


def test_rate_limit_is_a_default_middleware_on_both_entry_points(render: RenderFn) -> None:
    assert "http" not in dynamic_config(render(CHART))
    m = render(CHART, {"rateLimit": {"enabled": True, "average": 20, "burst": 40}})
    middleware = dynamic_config(m)["http"]["middlewares"]["charthouse-ratelimit"]["rateLimit"]
    assert middleware == {"average": 20, "burst": 40, "period": "1s"}
    for name in ("web", "websecure"):
        assert static_config(m)["entryPoints"][name]["http"]["middlewares"] == [
            "charthouse-ratelimit@file"
        ]


def test_typed_timeouts_and_forwarded_headers(render: RenderFn) -> None:
    m = render(
        CHART,
        {
            "entryPoints": {
                "transport": {"respondingTimeouts": {"readTimeout": "30s"}},
                "forwardedHeaders": {"trustedIPs": ["10.0.0.0/8"]},
            },
            "serversTransport": {"responseHeaderTimeout": "15s"},
        },
    )
    web = static_config(m)["entryPoints"]["web"]
    assert web["transport"]["respondingTimeouts"]["readTimeout"] == "30s"
    assert web["forwardedHeaders"] == {"insecure": False, "trustedIPs": ["10.0.0.0/8"]}
    forwarding = static_config(m)["serversTransport"]["forwardingTimeouts"]
    assert forwarding["responseHeaderTimeout"] == "15s"


def test_a_terminating_pod_keeps_accepting_while_the_endpoint_is_withdrawn(
    render: RenderFn,
) -> None:
    # SIGTERM and the EndpointSlice update race; kube-proxy needs a moment to stop sending new
    # connections. The integration failover test refused 16 of 3,509 requests with 0s.
    m = render(CHART)
    for name in ("web", "websecure"):
        life = static_config(m)["entryPoints"][name]["transport"]["lifeCycle"]
        assert life == {"requestAcceptGraceTimeout": "5s", "graceTimeOut": "10s"}
    assert controller(m)["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > 15


@pytest.mark.parametrize(
    ("grace", "accept", "drain", "renders"),
    [
        (15, "5s", "10s", False),
        (16, "5s", "10s", True),
        (60, "1m", "0s", False),
        (6, "5s", "500ms", True),
        (30, "0", "1m0.5s", False),
    ],
)
def test_termination_grace_must_cover_the_drain(
    render: RenderFn,
    render_error: RenderErrorFn,
    grace: int,
    accept: str,
    drain: str,
    renders: bool,
) -> None:
    values = {
        "controller": {"terminationGracePeriodSeconds": grace},
        "entryPoints": {
            "transport": {"lifeCycle": {"requestAcceptGraceTimeout": accept, "graceTimeOut": drain}}
        },
    }
    if renders:
        render(CHART, values)
        return
    message = render_error(CHART, values)
    assert f"controller.terminationGracePeriodSeconds: {grace} must exceed" in message
    assert f"requestAcceptGraceTimeout ({accept}) + graceTimeOut ({drain})" in message


def test_bad_duration_is_refused_naming_the_field(render_error: RenderErrorFn) -> None:
    err = render_error(
        CHART, {"entryPoints": {"transport": {"respondingTimeouts": {"readTimeout": "30 sec"}}}}
    )
    assert names_field(err, "entryPoints.transport.respondingTimeouts.readTimeout")


def test_access_logs_drop_headers_by_default(render: RenderFn) -> None:
    access = static_config(render(CHART))["accessLog"]
    assert access["format"] == "json"
    assert access["fields"]["headers"]["defaultMode"] == "drop"
    assert "accessLog" not in static_config(render(CHART, {"logs": {"access": {"enabled": False}}}))


def test_metrics_entry_point_service_and_servicemonitor(render: RenderFn) -> None:
    m = render(CHART, values_files=[CHARTS_DIR / CHART / "ci" / "servicemonitor-values.yaml"])
    assert static_config(m)["metrics"]["prometheus"]["entryPoint"] == "metrics"
    svc = m.get("Service", f"{FULLNAME}-metrics")
    assert svc["spec"]["type"] == "ClusterIP"
    assert svc["spec"]["ports"] == [
        {"name": "metrics", "port": 9100, "targetPort": "metrics", "protocol": "TCP"}
    ]
    sm = m.get("ServiceMonitor", FULLNAME)
    assert sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items()
    assert sm["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    # The public Service never exposes metrics.
    assert {p["name"] for p in m.get("Service", FULLNAME)["spec"]["ports"]} == {"http", "https"}


def test_metrics_off_removes_entry_point_and_service(render: RenderFn) -> None:
    m = render(CHART, {"metrics": {"enabled": False}})
    assert "metrics" not in static_config(m)
    assert "metrics" not in static_config(m)["entryPoints"]
    assert m.find("Service", f"{FULLNAME}-metrics") is None


def test_static_config_change_rolls_pods_but_dynamic_change_does_not(render: RenderFn) -> None:
    def checksum(values: dict[str, Any]) -> str:
        annotations = controller(render(CHART, values))["spec"]["template"]["metadata"][
            "annotations"
        ]
        return str(annotations["checksum/configmap"])

    base = checksum({})
    assert checksum({"logs": {"level": "DEBUG"}}) != base
    assert checksum({"rateLimit": {"enabled": False, "average": 5}}) == base
    assert checksum({"entryPoints": {"websecure": {"tls": {"minVersion": "VersionTLS13"}}}}) == base


# Where Traefik looks for traefik.{yml,yaml,toml} when no --configFile names one: the
# working directory (the image's is /), $XDG_CONFIG_HOME or $HOME/.config, /etc/traefik.
TRAEFIK_DEFAULT_CONFIG_DIRS = {"/", "/.config", "/root/.config", "/etc/traefik"}


def test_traefik_finds_its_configuration_only_through_the_one_flag(render: RenderFn) -> None:
    """A file at a default path wins over the command line and Traefik then ignores
    every flag silently, a mistyped --configFile included: the chart's file lives
    elsewhere, so the flag is what finds it and a typo fails the start."""
    c = traefik_container(render(CHART))
    assert c["args"] == ["--configFile=/etc/charthouse/traefik.yaml"]
    mount = next(m for m in c["volumeMounts"] if m["name"] == "config")
    assert mount["mountPath"] == "/etc/charthouse/traefik.yaml"
    for m in c["volumeMounts"]:
        path = Path(m["mountPath"])
        assert str(path) not in TRAEFIK_DEFAULT_CONFIG_DIRS, m
        assert not (str(path.parent) in TRAEFIK_DEFAULT_CONFIG_DIRS and path.stem == "traefik"), m


def test_static_config_merges_over_the_generated_options(render: RenderFn) -> None:
    extra = {
        "log": {"level": "DEBUG", "noColor": True},
        "experimental": {"plugins": {"demo": {"moduleName": "example.com/demo", "version": "v1"}}},
    }
    config = static_config(render(CHART, {"staticConfig": extra}))
    assert config["log"] == {"level": "DEBUG", "format": "json", "noColor": True}
    assert config["experimental"] == extra["experimental"]
    assert config["ping"] == {"entryPoint": "traefik"}  # generated options stay


def test_extra_command_line_arguments_are_refused_naming_the_field(
    render_error: RenderErrorFn,
) -> None:
    message = render_error(CHART, {"controller": {"extraArgs": ["--log.level=DEBUG"]}})
    assert "extraArgs" in message


def test_probes_use_the_ping_entry_point(render: RenderFn) -> None:
    m = render(CHART)
    c = traefik_container(m)
    assert static_config(m)["ping"] == {"entryPoint": "traefik"}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/ping", "port": "traefik"}


# --- Service, NetworkPolicy, test hook ---------------------------------------------


def test_nodeport_service(render: RenderFn) -> None:
    m = render(CHART, values_files=[CHARTS_DIR / CHART / "ci" / "nodeport-values.yaml"])
    svc = m.get("Service", FULLNAME)["spec"]
    assert svc["type"] == "NodePort"
    assert {p["name"]: p["nodePort"] for p in svc["ports"]} == {"http": 30080, "https": 30443}


def test_clusterip_service_ignores_external_only_fields(render: RenderFn) -> None:
    svc = render(
        CHART,
        {
            "service": {
                "type": "ClusterIP",
                "externalTrafficPolicy": "Local",
                "nodePorts": {"http": 30080},
            }
        },
    ).get("Service", FULLNAME)["spec"]
    assert "externalTrafficPolicy" not in svc
    assert all("nodePort" not in p for p in svc["ports"])


def test_service_annotations(render: RenderFn) -> None:
    annotations = {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}
    svc = render(CHART, {"service": {"annotations": annotations}}).get("Service", FULLNAME)
    assert svc["metadata"]["annotations"] == annotations


def test_networkpolicy_opens_entry_points_and_guards_metrics(render: RenderFn) -> None:
    m = render(CHART, values_files=[CHARTS_DIR / CHART / "ci" / "metrics-values.yaml"])
    rules = m.get("NetworkPolicy", FULLNAME)["spec"]["ingress"]
    open_rule = next(r for r in rules if {p["port"] for p in r["ports"]} == {"web", "websecure"})
    assert "from" not in open_rule
    metrics_rule = next(r for r in rules if [p["port"] for p in r["ports"]] == ["metrics"])
    assert metrics_rule["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "monitoring"
    }


def test_helm_test_pod_targets_the_service(render: RenderFn) -> None:
    m = render(CHART, namespace="edge")
    pod = m.get("Pod", f"{FULLNAME}-test")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert "before-hook-creation" in pod["metadata"]["annotations"]["helm.sh/hook-delete-policy"]
    assert f"http://{FULLNAME}.edge.svc:80/" in pod["spec"]["containers"][0]["args"][0]


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"securityContext": {"privileged": True}}, "securityContext.privileged"),
        ({"podSecurityContext": {"runAsUser": 0}}, "podSecurityContext.runAsUser"),
        ({"securityContext": {"readOnlyRootFilesystem": False}}, "podAnnotations"),
        ({"autoscaling": {"enabled": True, "metrics": [{}]}}, "autoscaling.metrics[0]"),
        ({"gateway": {"https": {"enabled": True}}}, "gateway.https"),
    ],
)
def test_schema_refuses_insecure_or_unrenderable_values(
    render_error: RenderErrorFn, values: dict[str, Any], field: str
) -> None:
    """Found by the schema fuzz test: refused up front, naming the field."""
    message = render_error(CHART, values, engine="sdk")
    assert field in message, message


_TRAEFIK_37_OPTIONS = {
    "allowSnippetAnnotations",
    "allowCrossNamespaceResources",
    "proxyConnectTimeout",
    "proxyReadTimeout",
    "proxySendTimeout",
    "proxyBodySize",
    "proxyRequestBuffering",
    "httpEntryPoint",
    "httpsEntryPoint",
}


def test_traefik_before_3_7_gets_no_option_it_would_refuse(render: RenderFn) -> None:
    # Traefik v3.6 exits with "field not found" on any static option it does not know.
    older = static_config(render(CHART, {"image": {"tag": "v3.6.12"}}))
    nginx = older["providers"]["kubernetesIngressNGINX"]
    assert not _TRAEFIK_37_OPTIONS & set(nginx), nginx
    assert nginx["ingressClass"] == "nginx"
    current = static_config(render(CHART))["providers"]["kubernetesIngressNGINX"]
    assert set(current) >= _TRAEFIK_37_OPTIONS


def test_a_changed_3_7_option_with_an_older_traefik_is_refused_naming_it(
    render_error: RenderErrorFn,
) -> None:
    message = render_error(
        CHART,
        {
            "image": {"tag": "v3.6.12"},
            "providers": {"kubernetesIngressNGINX": {"proxyBodySize": 10485760}},
        },
    )
    assert "providers.kubernetesIngressNGINX.proxyBodySize: needs Traefik v3.7" in message
    assert "v3.6.12" in message


def test_networkpolicy_egress_is_opt_in_to_dns_api_server_and_backends(render: RenderFn) -> None:
    default = render(CHART).get("NetworkPolicy", FULLNAME)["spec"]
    assert default["policyTypes"] == ["Ingress"] and "egress" not in default
    spec = render(CHART, {"networkPolicy": {"egress": {"enabled": True}}}).get(
        "NetworkPolicy", FULLNAME
    )["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    dns, api, backends = spec["egress"]
    assert dns == {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}
    assert api == {"ports": [{"port": 443, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}]}
    assert backends == {"to": [{"namespaceSelector": {}}]}
    narrowed: dict[str, Any] = {
        "enabled": True,
        "apiServerPorts": [6443],
        "backends": [{"namespaceSelector": {"matchLabels": {"team": "web"}}}],
        "extraEgress": [{"to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}]}],
    }
    egress = render(CHART, {"networkPolicy": {"egress": narrowed}}).get("NetworkPolicy", FULLNAME)[
        "spec"
    ]["egress"]
    assert egress[1] == {"ports": [{"port": 6443, "protocol": "TCP"}]}
    assert egress[2] == {"to": narrowed["backends"]}
    assert egress[3] == narrowed["extraEgress"][0]


def test_v37_body_limits_buffer_requests_and_custom_headers_need_an_allowlist(
    render: RenderFn,
) -> None:
    # Traefik v3.7 enforces proxy-body-size only on buffered requests, and its default is
    # not to buffer: the chart turns buffering on (ingress-nginx's default).
    nginx = static_config(render(CHART))["providers"]["kubernetesIngressNGINX"]
    assert nginx["proxyRequestBuffering"] is True
    assert nginx["proxyBodySize"] == 1048576
    assert "globalAllowedResponseHeaders" not in nginx
    allowed = {"providers": {"kubernetesIngressNGINX": {"globalAllowedResponseHeaders": ["X-A"]}}}
    nginx = static_config(render(CHART, allowed))["providers"]["kubernetesIngressNGINX"]
    assert nginx["globalAllowedResponseHeaders"] == ["X-A"]


def test_a_bad_allowed_header_name_is_refused(render_error: RenderErrorFn) -> None:
    bad = {"providers": {"kubernetesIngressNGINX": {"globalAllowedResponseHeaders": ["X A"]}}}
    assert names_field(
        render_error(CHART, bad), "providers.kubernetesIngressNGINX.globalAllowedResponseHeaders"
    )


# --- warnings about annotations Traefik ignores -------------------------------------------

_README = (CHARTS_DIR / CHART / "README.md").read_text()


def _annotation_policy(m: Manifests) -> dict[str, Any]:
    (policy,) = m.of_kind("ValidatingAdmissionPolicy")
    (binding,) = m.of_kind("ValidatingAdmissionPolicyBinding")
    assert binding["spec"]["policyName"] == policy["metadata"]["name"]
    assert binding["spec"]["validationActions"] == ["Warn"]  # never refuses an Ingress
    return policy


def _implemented(policy: dict[str, Any]) -> set[str]:
    """The annotation names the policy treats as implemented (the `in [...]` list)."""
    ignored = next(v for v in policy["spec"]["variables"] if v["name"] == "ignored")
    listed = re.search(r"!\(k in (\[[^\]]*\])\)", ignored["expression"])
    assert listed, ignored["expression"]
    return {name.removeprefix("nginx.ingress.kubernetes.io/") for name in json.loads(listed[1])}


def test_annotation_warnings_follow_the_running_traefik(render: RenderFn) -> None:
    current = _annotation_policy(render(CHART))
    older = _annotation_policy(render(CHART, {"image": {"tag": "v3.6.12"}}))
    assert {"limit-rps", "rewrite-target", "whitelist-source-range"} <= _implemented(current)
    assert not {"limit-rps", "rewrite-target"} & _implemented(older)
    assert _implemented(older) < _implemented(current)
    assert "Traefik v3.6.12" in older["spec"]["validations"][0]["messageExpression"]
    # Snippets: v3.7 refuses the whole Ingress (warned as such) unless allowed; v3.6
    # does not read them (warned as ignored).
    assert [v["name"] for v in current["spec"]["variables"]] == ["ignored", "refused"]
    assert [v["name"] for v in older["spec"]["variables"]] == ["ignored"]
    allowed = {"providers": {"kubernetesIngressNGINX": {"allowSnippetAnnotations": True}}}
    assert len(_annotation_policy(render(CHART, allowed))["spec"]["validations"]) == 1


def test_annotation_warnings_match_only_this_class(render: RenderFn) -> None:
    policy = _annotation_policy(render(CHART, {"ingressClass": {"name": "edge"}}))
    served = policy["spec"]["matchConditions"][0]["expression"]
    assert "object.spec.ingressClassName == 'edge'" in served
    assert served.rstrip().endswith(": false")  # classless Ingresses are not ours
    default = _annotation_policy(render(CHART, {"ingressClass": {"default": True}}))
    assert default["spec"]["matchConditions"][0]["expression"].rstrip().endswith(": true")


def test_annotation_warnings_can_be_turned_off(render: RenderFn) -> None:
    off = {"providers": {"kubernetesIngressNGINX": {"annotationWarnings": False}}}
    assert not render(CHART, off).of_kind("ValidatingAdmissionPolicy")
    native = {
        "providers": {
            "kubernetesIngressNGINX": {"enabled": False},
            "kubernetesIngress": {"enabled": True},
        }
    }
    assert not render(CHART, native).of_kind("ValidatingAdmissionPolicy")


def _readme_annotation_rows() -> list[tuple[list[str], bool, str]]:
    """(annotations, on v3.6.12, proving test) of the README's annotation table."""
    section = _README.split("## ingress-nginx annotations", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if len(cells) != 4 or not cells[0].startswith("`"):
            continue
        names = re.findall(r"`([a-z0-9-]+)`", cells[0])
        test = re.search(r"`(test_[a-z0-9_]+)`", cells[3])
        rows.append((names, cells[2].startswith("yes"), test[1] if test else ""))
    assert len(rows) == section.count("\n| `"), (
        "a row of the README's annotation table was not parsed"
    )
    return rows


def test_every_annotation_the_readme_promises_is_implemented_and_tested(render: RenderFn) -> None:
    current = _implemented(_annotation_policy(render(CHART)))
    older = _implemented(_annotation_policy(render(CHART, {"image": {"tag": "v3.6.12"}})))
    tests_file = Path(__file__).parents[2] / "integration" / "test_ingress_annotations.py"
    tests = set(re.findall(r"^def (test_[a-z0-9_]+)\(", tests_file.read_text(), re.M))
    for names, on_36, test in _readme_annotation_rows():
        assert set(names) <= current, names
        assert set(names) <= older if on_36 else not set(names) & older, names
        assert not test or test in tests, f"{names}: {test} is not in {tests_file.name}"
