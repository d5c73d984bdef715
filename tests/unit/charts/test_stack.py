"""charts/stack: one release gives the compose topology (api + db + cache + proxy), wired."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from charthouse import paths
from charthouse.manifests import Manifests, PodTemplate
from support.rendering import RenderErrorFn, RenderFn

CHART = "stack"
MIRROR = "registry.example.test:5000"


def app_deployment(m: Manifests, release: str = "rel") -> dict[str, Any]:
    return m.get("Deployment", f"{release}-app")


def app_pod(m: Manifests, release: str = "rel") -> dict[str, Any]:
    spec: dict[str, Any] = app_deployment(m, release)["spec"]["template"]["spec"]
    return spec


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def statefulset_of(m: Manifests, chart: str) -> dict[str, Any]:
    """The StatefulSet of subchart ``chart`` (the database's or the cache's)."""
    (found,) = [
        s
        for s in m.of_kind("StatefulSet")
        if s["metadata"]["labels"]["app.kubernetes.io/name"] == chart
    ]
    return found


def all_containers(t: PodTemplate) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = t.spec["containers"] + t.spec.get("initContainers", [])
    return containers


# --- DATABASE_URL --------------------------------------------------------------------


@pytest.mark.parametrize("release", ["rel", "shop-database"])
def test_database_url_comes_from_the_secret_the_database_renders(
    render: RenderFn, release: str
) -> None:
    """Also for a release whose name already contains "database" (fullname rule)."""
    m = render(CHART, release=release)
    app = next(c for c in app_pod(m, release)["containers"] if c["name"] == "app")
    ref = env_of(app)["DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    secret = m.get("Secret", ref["name"])  # KeyError names what exists if it is not rendered
    assert ref["key"] in secret["data"]
    statefulset = statefulset_of(m, "database")
    assert statefulset["metadata"]["name"] == ref["name"]
    assert "value" not in env_of(app)["DATABASE_URL"]  # never a literal password


def test_app_waits_for_the_database_with_pg_isready(render: RenderFn) -> None:
    m = render(CHART)
    pod = app_pod(m)
    (init,) = pod["initContainers"]
    assert init["name"] == "wait-for-database"
    script = " ".join(init["command"])
    assert "pg_isready" in script and "$DATABASE_URL" in script
    app = next(c for c in pod["containers"] if c["name"] == "app")
    # It waits on exactly the URI the app will use.
    assert env_of(init)["DATABASE_URL"] == env_of(app)["DATABASE_URL"]
    # Same postgres image as the database itself, so pg_isready matches the server.
    db_image = statefulset_of(m, "database")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert init["image"] == db_image
    sc = init["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]} and sc["runAsNonRoot"] is True
    assert init["resources"]["limits"]["memory"] and init["resources"]["requests"]["cpu"]


def test_database_network_policy_admits_the_app(render: RenderFn) -> None:
    m = render(CHART)
    app_labels = app_deployment(m)["spec"]["template"]["metadata"]["labels"]
    db_policy = next(
        p for p in m.of_kind("NetworkPolicy") if p["metadata"]["name"] == "rel-database"
    )
    peers = [peer for rule in db_policy["spec"]["ingress"] for peer in rule.get("from", [])]
    assert any(
        peer.get("podSelector", {}).get("matchLabels", {}).items() <= app_labels.items()
        and "namespaceSelector" not in peer
        for peer in peers
    )


# --- REDIS_URL ------------------------------------------------------------------------


@pytest.mark.parametrize("release", ["rel", "shop-cache"])
def test_redis_url_comes_from_the_secret_the_cache_renders(render: RenderFn, release: str) -> None:
    """Also for a release whose name already contains "cache" (fullname rule)."""
    m = render(CHART, release=release)
    app = next(c for c in app_pod(m, release)["containers"] if c["name"] == "app")
    redis_url = env_of(app)["REDIS_URL"]
    assert "value" not in redis_url  # never a literal password
    ref = redis_url["valueFrom"]["secretKeyRef"]
    secret = m.get("Secret", ref["name"])
    assert secret["metadata"]["labels"]["app.kubernetes.io/name"] == "cache"
    assert ref["key"] in secret["data"]
    assert statefulset_of(m, "cache")["metadata"]["name"] == ref["name"]
    # The URL names the cache's Service.
    uri = base64.b64decode(secret["data"][ref["key"]]).decode()
    assert uri.startswith("redis://default:")
    assert uri.endswith(f"@{ref['name']}.default.svc.cluster.local:6379/0")
    assert m.get("Service", ref["name"])["spec"]["ports"][0]["port"] == 6379


def test_the_app_starts_without_redis_url_when_the_cache_is_disabled(render: RenderFn) -> None:
    m = render(CHART, {"cache": {"enabled": False}}, engine="binary")
    assert m.find("StatefulSet", "rel-cache") is None and m.find("Secret", "rel-cache") is None
    assert m.find("Pod", "rel-stack-test-cache") is None
    app = next(c for c in app_pod(m)["containers"] if c["name"] == "app")
    # The reference stays but is optional: the kubelet starts the app without REDIS_URL.
    assert env_of(app)["REDIS_URL"]["valueFrom"]["secretKeyRef"]["optional"] is True
    assert env_of(app)["DATABASE_URL"]["valueFrom"]["secretKeyRef"].get("optional") is None


def test_cache_network_policy_admits_the_app(render: RenderFn) -> None:
    m = render(CHART)
    app_labels = app_deployment(m)["spec"]["template"]["metadata"]["labels"]
    cache_policy = m.get("NetworkPolicy", "rel-cache")
    peers = [peer for rule in cache_policy["spec"]["ingress"] for peer in rule.get("from", [])]
    assert any(
        peer.get("podSelector", {}).get("matchLabels", {}).items() <= app_labels.items()
        and "namespaceSelector" not in peer
        for peer in peers
    )


def test_stack_test_pings_the_cache_with_the_apps_redis_url(render: RenderFn) -> None:
    m = render(CHART)
    pod = m.get("Pod", "rel-stack-test-cache")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    (test,) = pod["spec"]["containers"]
    app = next(c for c in app_pod(m)["containers"] if c["name"] == "app")
    assert test["env"] == [env_of(app)["REDIS_URL"]]  # exactly what the app gets
    assert test["command"][:2] == ["sh", "-c"]
    assert test["command"][2] == (paths.CHARTS_DIR / CHART / "files" / "test-cache.sh").read_text()
    # The cache's own image and tag (the cache chart's appVersion, not the stack's).
    cache_image = m.get("StatefulSet", "rel-cache")["spec"]["template"]["spec"]["containers"][0][
        "image"
    ]
    assert test["image"] == cache_image == "docker.io/valkey/valkey:8.1.1"


def test_existing_cache_secret_must_be_wired_to_the_app(
    render: RenderFn, render_error: RenderErrorFn
) -> None:
    values: dict[str, Any] = {"cache": {"auth": {"existingSecret": "shop-cache-auth"}}}
    assert "cache.auth.existingSecret" in render_error(CHART, values)
    ref = {"secretKeyRef": {"name": "shop-cache-auth", "key": "redis-url"}}
    database_url = {
        "name": "DATABASE_URL",
        "valueFrom": {"secretKeyRef": {"name": "rel-database", "key": "uri"}},
    }
    values["app"] = {"extraEnv": [database_url, {"name": "REDIS_URL", "valueFrom": ref}]}
    app = next(c for c in app_pod(render(CHART, values))["containers"] if c["name"] == "app")
    assert env_of(app)["REDIS_URL"]["valueFrom"] == ref


# --- the controller and the app's Ingress ----------------------------------------------


def test_app_ingress_uses_the_stack_controllers_class(render: RenderFn) -> None:
    m = render(CHART)
    (ingress,) = m.of_kind("Ingress")
    (ingress_class,) = m.of_kind("IngressClass")
    assert ingress["spec"]["ingressClassName"] == ingress_class["metadata"]["name"] == "nginx"
    assert ingress["spec"]["rules"][0]["host"] == "api.example.com"
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert m.get("Service", backend["name"])  # routes to the app's Service
    assert m.get("Deployment", "rel-ingress")


def test_renamed_class_moves_both_sides(render: RenderFn) -> None:
    m = render(
        CHART,
        {"ingress": {"ingressClass": {"name": "edge"}}, "app": {"ingress": {"className": "edge"}}},
    )
    assert m.of_kind("Ingress")[0]["spec"]["ingressClassName"] == "edge"
    assert m.names("IngressClass") == ["edge"]


def test_class_mismatch_is_refused(render_error: RenderErrorFn) -> None:
    err = render_error(CHART, {"ingress": {"ingressClass": {"name": "edge"}}})
    assert "app.ingress.className" in err and "edge" in err


def test_app_network_policy_admits_the_stack_controller(render: RenderFn) -> None:
    m = render(CHART, {"app": {"networkPolicy": {"enabled": True}}})
    controller_labels = m.get("Deployment", "rel-ingress")["spec"]["template"]["metadata"]["labels"]
    policy = m.get("NetworkPolicy", "rel-app")
    peers = [peer for rule in policy["spec"]["ingress"] for peer in rule.get("from", [])]
    assert any(
        peer.get("podSelector", {}).get("matchLabels", {}).items() <= controller_labels.items()
        for peer in peers
    )


def test_stack_test_goes_through_the_controller_to_the_app(render: RenderFn) -> None:
    m = render(CHART, namespace="shop")
    pod = m.get("Pod", "rel-stack-test")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    script = pod["spec"]["containers"][0]["args"][0]
    assert "http://rel-ingress.shop.svc:80/" in script
    assert "Host: api.example.com" in script and "HTTP/1.1 200" in script


# --- conditions -------------------------------------------------------------------------


def test_each_component_can_be_disabled(render: RenderFn) -> None:
    # The helm binary: the in-process SDK engine caches loaded charts, and Helm drops a
    # disabled dependency from the loaded chart in place, so a later render in the same
    # process would lose that subchart too (reported to the render engine's owner).
    def render_binary(values: dict[str, Any]) -> Manifests:
        return render(CHART, values, engine="binary")

    no_edge = render_binary({"ingress": {"enabled": False}})
    assert no_edge.find("Deployment", "rel-ingress") is None
    assert no_edge.of_kind("IngressClass") == [] and no_edge.of_kind("ClusterRole") == []
    assert no_edge.of_kind("Ingress")  # the app still publishes itself to the existing class
    assert no_edge.find("Pod", "rel-stack-test") is None

    no_db = render_binary({"database": {"enabled": False}})
    assert no_db.find("StatefulSet", "rel-database") is None
    assert no_db.find("Secret", "rel-database") is None
    assert no_db.find("StatefulSet", "rel-cache")  # the others stay

    no_cache = render_binary({"cache": {"enabled": False}})
    assert [s["metadata"]["name"] for s in no_cache.of_kind("StatefulSet")] == ["rel-database"]

    no_app = render_binary({"app": {"enabled": False}})
    assert no_app.find("Deployment", "rel-app") is None
    assert no_app.find("Deployment", "rel-ingress") and no_app.of_kind("StatefulSet")
    assert no_app.find("Pod", "rel-stack-test-cache") is None


@pytest.mark.parametrize("chart", ["database", "cache"])
def test_subchart_name_overrides_are_refused(render_error: RenderErrorFn, chart: str) -> None:
    err = render_error(CHART, {chart: {"fullnameOverride": "renamed"}})
    assert f"{chart}.nameOverride/{chart}.fullnameOverride" in err


def test_existing_database_secret_must_be_wired_to_the_app(
    render: RenderFn, render_error: RenderErrorFn
) -> None:
    values: dict[str, Any] = {"database": {"auth": {"existingSecret": "shop-db"}}}
    assert "database.auth.existingSecret" in render_error(CHART, values)
    ref = {"secretKeyRef": {"name": "shop-db", "key": "uri"}}
    values["app"] = {"extraEnv": [{"name": "DATABASE_URL", "valueFrom": ref}]}
    app = next(c for c in app_pod(render(CHART, values))["containers"] if c["name"] == "app")
    assert env_of(app)["DATABASE_URL"]["valueFrom"] == ref


# --- global values ----------------------------------------------------------------------


def test_global_values_reach_every_subchart(render: RenderFn) -> None:
    m = render(
        CHART,
        {
            "global": {
                "imageRegistry": MIRROR,
                "imagePullSecrets": [{"name": "mirror-pull"}],
                "storageClass": "fast-ssd",
            }
        },
    )
    templates = m.pod_templates()
    owners = {t.owner["metadata"]["name"] for t in templates}
    # app (with its init container), database, cache, controller and every test pod
    assert {
        "rel-app",
        "rel-database",
        "rel-cache",
        "rel-ingress",
        "rel-stack-test",
        "rel-stack-test-cache",
    } <= owners
    for t in templates:
        for container in all_containers(t):
            assert container["image"].startswith(f"{MIRROR}/"), (t.owner["metadata"], container)
        assert {"name": "mirror-pull"} in t.spec.get("imagePullSecrets", []), t.owner["metadata"]
    claims = [
        claim
        for sts in m.of_kind("StatefulSet")
        for claim in sts["spec"].get("volumeClaimTemplates", [])
    ] + m.of_kind("PersistentVolumeClaim")
    assert len(claims) >= 2, "the database and the cache keep their data on PVCs"
    assert all(claim["spec"]["storageClassName"] == "fast-ssd" for claim in claims)


def test_typo_key_is_refused(render_error: RenderErrorFn) -> None:
    assert "databse" in render_error(CHART, {"databse": {"enabled": True}})


@pytest.mark.parametrize("engine", ["binary", "sdk"])
def test_a_disabled_subchart_s_values_are_not_validated(render: RenderFn, engine: str) -> None:
    """As helm: the schema of a subchart its condition turns off is not applied."""
    m = render("stack", {"app": {"enabled": False, "typo": None}}, engine=engine)  # type: ignore[arg-type]
    assert "Deployment" not in {o["kind"] for o in m if o["metadata"]["name"] == "rel-app"}
