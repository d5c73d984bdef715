"""Every ``nginx.ingress.kubernetes.io/*`` annotation the ingress chart's README promises,
proven by what a client of the edge sees: a status, a header, a redirect, which backend
answered, what the backend received.

One controller serves the whole module (it is the slow part); each test adds its own
Ingress under a host of its own and waits until the controller routes it.

Traefik v3.6.12, the newest Traefik that builds from the Go module proxy on the embedded
cluster, implements fewer annotations than the chart's Traefik v3.7.13: a test of one that
v3.6 lacks is skipped there, saying so, and runs on kind (charts/ingress/README.md,
"ingress-nginx annotations", lists both sets).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from .conftest import SessionCluster, exclusive_cluster_objects, restricted_namespace
from .edge import (
    Edge,
    Reply,
    app_report,
    deploy_edge,
    site_certificate,
    tls_secret,
    traefik_version,
)
from .harness import Deployer, Diagnostics, Release
from .helm import Helm
from .images import embedded_values
from .kube import Kube, Obj, eventually, kubectl

pytestmark = pytest.mark.integration

PREFIX = "nginx.ingress.kubernetes.io/"
V37 = (3, 7, 0)
# Services of the backend releases (the app chart's full name: <release>-app).
GREEN, SECURE = "green-app", "secure-app"
# The controller-wide proxy-body-size the module sets (v3.7): small, so a body over it
# still fits the socket buffers and the client reads the 413 instead of a reset.
CONTROLLER_BODY_LIMIT = 8192
HTTPS_PROBE = {"httpGet": {"path": "/health/ready", "port": "https", "scheme": "HTTPS"}}


@dataclass
class Site:
    """The module's edge and its backends: ``app`` (2 pods), ``green`` (1 pod) and
    ``secure`` (HTTPS only), all whoami telling their name."""

    edge: Edge
    namespace: str
    kube: Kube
    cluster: SessionCluster
    traefik: tuple[int, int, int]
    legacy: Release

    def needs(self, since: tuple[int, int, int], *annotations: str) -> None:
        """Skip, saying why, when the Traefik running here predates ``annotations``."""
        if self.traefik >= since:
            return
        running = ".".join(map(str, self.traefik))
        wanted = ".".join(map(str, since[:2]))
        names = ", ".join(f"`{a}`" for a in annotations)
        pytest.skip(
            f"Traefik v{running} (the embedded cluster's build; the chart's v3.7.13 does not "
            f"build from the Go module proxy here) does not implement {names}: added in "
            f"v{wanted}. Runs on kind; gap documented in charts/ingress/README.md"
        )

    def ingress(
        self,
        host: str,
        annotations: dict[str, str],
        *,
        service: str = "app",
        paths: tuple[tuple[str, str], ...] = (("/", "Prefix"),),
        tls: str | None = None,
        name: str | None = None,
    ) -> Obj:
        """Create an Ingress of class nginx for ``host`` (annotation names without PREFIX)."""
        spec: dict[str, Any] = {
            "ingressClassName": "nginx",
            "rules": [
                {
                    "host": host,
                    "http": {
                        "paths": [
                            {
                                "path": path,
                                "pathType": kind,
                                "backend": {"service": {"name": service, "port": {"number": 80}}},
                            }
                            for path, kind in paths
                        ]
                    },
                }
            ],
        }
        if tls:
            spec["tls"] = [{"hosts": [host], "secretName": tls}]
        obj = {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {
                "name": name or host.split(".")[0],
                "namespace": self.namespace,
                "annotations": {PREFIX + k: v for k, v in annotations.items()},
            },
            "spec": spec,
        }
        return self.kube.create(obj)

    def plain_host(self) -> str:
        """A host whose Ingress has no annotation at all (created once)."""
        if self.kube.get("networking.k8s.io/v1", "Ingress", "plain", self.namespace) is None:
            self.ingress("plain-app.example.com", {}, name="plain")
        return "plain-app.example.com"

    def get(self, host: str, path: str = "/", **options: Any) -> Reply:
        return self.edge.get(host, path, **options)

    def routed(self, host: str, path: str = "/api", **options: Any) -> Reply:
        return self.edge.wait_routed(host, path, **options)

    def service_host(self, service: str) -> str:
        return f"{service}.{self.namespace}.svc.cluster.local"


@pytest.fixture(scope="module")
def site(cluster: SessionCluster, kube: Kube) -> Iterator[Site]:
    diagnostics = Diagnostics(kube=kube)
    with (
        exclusive_cluster_objects(kube, cluster),
        restricted_namespace(kube, cluster, diagnostics, "ingress-annotations") as namespace,
    ):
        helm = Helm.for_major(
            4, cluster.kubeconfig, embedded_values if cluster.provider == "embedded" else None
        )
        deploy = Deployer(kube, namespace, diagnostics)
        running = traefik_version(cluster.provider)
        nginx: dict[str, Any] = {}
        if running >= V37:  # options only Traefik v3.7 has, for the tests below
            nginx["globalAllowedResponseHeaders"] = ["X-Served-By"]  # custom-headers
            nginx["proxyBodySize"] = CONTROLLER_BODY_LIMIT
        edge = deploy_edge(
            deploy, helm, kube, values={"providers": {"kubernetesIngressNGINX": nginx}}
        )
        _backend(deploy, helm, "app", replicas=2)
        _backend(deploy, helm, "green")
        _, cert = site_certificate(SECURE, f"{SECURE}.{namespace}.svc")
        kube.create(tls_secret("secure-tls", namespace, cert))
        _backend(
            deploy,
            helm,
            "secure",
            args=["--port=8443", "--cert=/tls/tls.crt", "--key=/tls/tls.key"],
            extra={
                "ports": [{"name": "https", "containerPort": 8443, "protocol": "TCP"}],
                "service": {"targetPort": "https"},
                "probes": {
                    "startup": {"custom": HTTPS_PROBE},
                    "readiness": {"custom": HTTPS_PROBE},
                    "liveness": {"custom": HTTPS_PROBE},
                },
                "extraVolumes": [{"name": "tls", "secret": {"secretName": "secure-tls"}}],
                "extraVolumeMounts": [{"name": "tls", "mountPath": "/tls", "readOnly": True}],
                # The TLS flags are newer than an image a node may hold under the same tag.
                "image": {"pullPolicy": "Always"},
            },
        )
        # An Ingress rendered by the app chart, as users write them, with an annotation no
        # Traefik implements: helm's output must carry the API server's warning.
        legacy = deploy(
            "app",
            helm,
            release="legacy",
            values={
                "replicaCount": 1,
                "ingress": {
                    "enabled": True,
                    "annotations": {
                        PREFIX + "mirror-target": "http://green/",
                        PREFIX + "limit-rps": "50",
                    },
                    "hosts": [
                        {
                            "host": "legacy.example.com",
                            "paths": [{"path": "/", "pathType": "Prefix"}],
                        }
                    ],
                },
            },
        )
        yield Site(edge, namespace, kube, cluster, running, legacy)


def _backend(
    deploy: Deployer,
    helm: Helm,
    name: str,
    *,
    replicas: int = 1,
    args: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Release:
    values: dict[str, Any] = {
        "replicaCount": replicas,
        "args": [*(args or ["--port=8080"]), f"--name={name}"],
        **(extra or {}),
    }
    return deploy("app", helm, release=name, values=values)


@pytest.fixture(autouse=True)
def _report_the_module_namespace(site: Site, diagnostics: Diagnostics) -> None:
    """A failing test's report shows the shared namespace's events and pods."""
    diagnostics.namespaces.append(site.namespace)


def _name(reply: Reply) -> str:
    return str(app_report(reply)["name"])


def _echo(reply: Reply) -> tuple[str, dict[str, str]]:
    """What whoami's text page (every path but /api) says it received: the request line
    (``GET /items HTTP/1.1``) and the ``Key: value`` lines (its name, Host, headers)."""
    assert reply.status == 200, f"expected the app's answer, got {reply.status}: {reply.text[:300]}"
    lines = reply.text.splitlines()
    request = next(line for line in lines if line.endswith(" HTTP/1.1"))
    fields = dict(line.split(": ", 1) for line in lines if ": " in line)
    return request, fields


# --- TLS and redirects ----------------------------------------------------------------


def test_ssl_redirect(site: Site) -> None:
    _, cert = site_certificate("redirect.example.com", "plain.example.com")
    site.kube.create(tls_secret("redirect-tls", site.namespace, cert))
    site.ingress("redirect.example.com", {}, tls="redirect-tls")
    site.ingress("plain.example.com", {"ssl-redirect": "false"}, tls="redirect-tls")
    site.routed("redirect.example.com", https=True)

    # A TLS Ingress redirects plain HTTP by default (308 keeps the method and body) ...
    redirected = site.edge.wait_routed("redirect.example.com", "/a?b=1", status=308)
    assert redirected.header("Location") == "https://redirect.example.com/a?b=1"
    # ... unless ssl-redirect is false: both schemes then reach the app.
    assert _name(site.routed("plain.example.com")) == "app"
    assert _name(site.get("plain.example.com", "/api", https=True)) == "app"


def test_force_ssl_redirect(site: Site) -> None:
    # No TLS block, so ssl-redirect alone would not apply; force-ssl-redirect does.
    site.ingress("forced.example.com", {"force-ssl-redirect": "true"})
    reply = site.edge.wait_routed("forced.example.com", "/x", status=308)
    assert reply.header("Location") == "https://forced.example.com/x"


# --- paths ----------------------------------------------------------------------------


def test_use_regex(site: Site) -> None:
    site.ingress(
        "regex.example.com",
        {"use-regex": "true"},
        paths=(("/v[0-9]+/items", "ImplementationSpecific"),),
    )
    request, _ = _echo(site.routed("regex.example.com", "/v2/items"))
    assert request == "GET /v2/items HTTP/1.1"
    assert site.get("regex.example.com", "/v12/items/7").status == 200
    # Not a prefix match of the literal path, and no other version form.
    assert site.get("regex.example.com", "/vx/items").status == 404
    assert site.get("regex.example.com", "/v[0-9]+/items").status == 404


def test_rewrite_target(site: Site) -> None:
    site.needs(V37, "rewrite-target")
    site.ingress(
        "rewrite.example.com",
        {"use-regex": "true", "rewrite-target": "/$2"},
        paths=(("/api(/|$)(.*)", "ImplementationSpecific"),),
    )
    request, fields = _echo(site.routed("rewrite.example.com", "/api/items/7"))
    assert request == "GET /items/7 HTTP/1.1"
    assert fields["Name"] == "app"


def test_x_forwarded_prefix(site: Site) -> None:
    site.needs(V37, "x-forwarded-prefix", "rewrite-target")
    site.ingress(
        "prefix.example.com",
        {"use-regex": "true", "rewrite-target": "/$2", "x-forwarded-prefix": "/api"},
        paths=(("/api(/|$)(.*)", "ImplementationSpecific"),),
    )
    request, fields = _echo(site.routed("prefix.example.com", "/api/items"))
    assert request == "GET /items HTTP/1.1"
    assert fields.get("X-Forwarded-Prefix") == "/api"


def test_app_root(site: Site) -> None:
    site.needs(V37, "app-root")
    site.ingress("approot.example.com", {"app-root": "/dashboard"})
    reply = site.edge.wait_routed("approot.example.com", "/", status=302)
    assert (reply.header("Location") or "").endswith("/dashboard")
    # Only the root is redirected.
    assert app_report(site.get("approot.example.com", "/api"))["url"] == "/api"


def test_permanent_redirect(site: Site) -> None:
    site.needs(V37, "permanent-redirect", "permanent-redirect-code")
    target = "https://www.example.org/moved"
    site.ingress("moved.example.com", {"permanent-redirect": target})
    site.ingress(
        "moved308.example.com", {"permanent-redirect": target, "permanent-redirect-code": "308"}
    )
    assert site.edge.wait_routed("moved.example.com", "/old", status=301).header("Location") == (
        target
    )
    assert site.edge.wait_routed("moved308.example.com", "/", status=308).header("Location") == (
        target
    )


# --- backends -------------------------------------------------------------------------


def test_backend_protocol(site: Site) -> None:
    # `secure` speaks only HTTPS. Plain HTTP to it is refused by the backend; with the
    # annotation Traefik speaks TLS (not verifying, as ingress-nginx's proxy-ssl-verify off).
    site.ingress("http-to-tls.example.com", {}, service=SECURE)
    site.ingress("https-to-tls.example.com", {"backend-protocol": "HTTPS"}, service=SECURE)
    reply = site.routed("https-to-tls.example.com")
    assert _name(reply) == "secure"
    plain = site.get("http-to-tls.example.com", "/api")
    assert plain.status != 200, plain.text[:200]
    assert b'"name"' not in plain.body


def test_upstream_vhost(site: Site) -> None:
    site.needs(V37, "upstream-vhost")
    site.ingress("vhost.example.com", {"upstream-vhost": "internal.example.com"})
    assert app_report(site.routed("vhost.example.com"))["host"] == "internal.example.com"


def test_default_backend(site: Site) -> None:
    site.needs(V37, "default-backend")
    site.kube.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "nobody", "namespace": site.namespace},
            "spec": {
                "selector": {"app.kubernetes.io/name": "no-such-pod"},
                "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
            },
        }
    )
    site.ingress("fallback.example.com", {"default-backend": GREEN}, service="nobody")
    # The Ingress's Service has no endpoints: the default backend answers instead of a 503.
    assert _name(site.routed("fallback.example.com")) == "green"


def test_custom_http_errors(site: Site) -> None:
    site.needs(V37, "custom-http-errors", "default-backend")
    site.ingress("errors.example.com", {"custom-http-errors": "400", "default-backend": GREEN})
    site.routed("errors.example.com")
    # whoami answers 400 to a bad ?wait=; the error page comes from green, which is told
    # the original status the way ingress-nginx tells its default backend (X-Code).
    page = site.get("errors.example.com", "/?wait=not-a-duration")
    assert "Name: green" in page.text, page.text[:300]
    assert "X-Code: 400" in page.text, page.text[:300]
    assert site.get("errors.example.com", "/api").status == 200  # other answers untouched


# --- headers, CORS, cookies -----------------------------------------------------------


def test_enable_cors_and_cors_options(site: Site) -> None:
    site.ingress(
        "cors.example.com",
        {
            "enable-cors": "true",
            "cors-allow-origin": "https://app.example.com",
            "cors-allow-methods": "GET, POST",
            "cors-allow-headers": "X-Requested-With, Content-Type",
            "cors-expose-headers": "X-Trace-Id",
            "cors-max-age": "600",
        },
    )
    site.routed("cors.example.com")
    origin = {"Origin": "https://app.example.com"}
    preflight = site.get(
        "cors.example.com",
        "/api",
        method="OPTIONS",
        headers={**origin, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status in (200, 204), preflight.status
    assert preflight.header("Access-Control-Allow-Origin") == "https://app.example.com"
    assert _listed(preflight.header("Access-Control-Allow-Methods")) == {"GET", "POST"}
    assert _listed(preflight.header("Access-Control-Allow-Headers")) == {
        "X-Requested-With",
        "Content-Type",
    }
    assert preflight.header("Access-Control-Max-Age") == "600"
    assert preflight.header("Access-Control-Allow-Credentials") == "true"  # the default

    simple = site.get("cors.example.com", "/api", headers=origin)
    assert _name(simple) == "app"
    assert simple.header("Access-Control-Allow-Origin") == "https://app.example.com"
    assert _listed(simple.header("Access-Control-Expose-Headers")) == {"X-Trace-Id"}
    # Another origin gets no grant.
    other = site.get("cors.example.com", "/api", headers={"Origin": "https://evil.example.net"})
    assert other.header("Access-Control-Allow-Origin") is None


def _listed(value: str | None) -> set[str]:
    return {part.strip() for part in (value or "").split(",") if part.strip()}


def test_custom_headers(site: Site) -> None:
    site.needs(V37, "custom-headers")
    site.kube.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "edge-headers", "namespace": site.namespace},
            "data": {"X-Served-By": "charthouse"},
        }
    )
    site.ingress("headers.example.com", {"custom-headers": f"{site.namespace}/edge-headers"})
    assert site.routed("headers.example.com").header("X-Served-By") == "charthouse"


def test_affinity_cookie(site: Site) -> None:
    site.ingress(
        "sticky.example.com",
        {"affinity": "cookie", "session-cookie-name": "route", "session-cookie-max-age": "3600"},
    )
    first = site.routed("sticky.example.com")
    cookie = first.header("Set-Cookie") or ""
    assert cookie.startswith("route="), cookie
    assert "Max-Age=3600" in cookie and "HttpOnly" in cookie, cookie
    pinned = app_report(first)["hostname"]
    jar = {"Cookie": cookie.split(";")[0]}
    with_cookie = {
        app_report(site.get("sticky.example.com", "/api", headers=jar))["hostname"]
        for _ in range(20)
    }
    without = {app_report(site.get("sticky.example.com", "/api"))["hostname"] for _ in range(20)}
    assert with_cookie == {pinned}
    assert len(without) == 2, without  # both app pods serve clients without the cookie


# --- access control -------------------------------------------------------------------


def test_basic_auth(site: Site) -> None:
    password = secrets.token_urlsafe(12)
    digest = base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()
    site.kube.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "basic-auth", "namespace": site.namespace},
            "stringData": {"auth": f"alice:{{SHA}}{digest}\n"},
        }
    )
    site.ingress(
        "basic.example.com",
        {"auth-type": "basic", "auth-secret": "basic-auth", "auth-realm": "charthouse test"},
    )
    refused = site.edge.wait_routed("basic.example.com", "/api", status=401)
    assert refused.header("WWW-Authenticate") == 'Basic realm="charthouse test"'
    wrong = base64.b64encode(b"alice:not-the-password").decode()
    assert (
        site.get("basic.example.com", "/api", headers={"Authorization": f"Basic {wrong}"}).status
        == 401
    )
    right = base64.b64encode(f"alice:{password}".encode()).decode()
    allowed = site.get("basic.example.com", "/api", headers={"Authorization": f"Basic {right}"})
    assert _name(allowed) == "app"


def test_auth_url(site: Site) -> None:
    # green's /health answers 200 until told otherwise: the external auth service.
    site.ingress("authurl.example.com", {"auth-url": f"http://{site.service_host(GREEN)}/health"})
    site.ingress("green-admin.example.com", {}, service=GREEN)
    assert _name(site.routed("authurl.example.com")) == "app"
    site.routed("green-admin.example.com")
    try:
        assert (
            site.get("green-admin.example.com", "/health", method="POST", body=b"401").status == 200
        )
        denied = site.get("authurl.example.com", "/api")
        assert denied.status == 401, denied.text[:200]
    finally:
        site.get("green-admin.example.com", "/health", method="POST", body=b"200")
    assert _name(site.get("authurl.example.com", "/api")) == "app"


@pytest.mark.parametrize("annotation", ["whitelist-source-range", "allowlist-source-range"])
def test_source_range(site: Site, annotation: str) -> None:
    site.needs(V37, annotation)
    host = f"{annotation.split('-')[0]}.example.com"
    client = _client_address(site)
    site.ingress(f"denied-{host}", {annotation: "192.0.2.0/24"}, name=f"denied-{annotation}")
    site.ingress(f"allowed-{host}", {annotation: f"192.0.2.0/24, {client}/32"}, name=annotation)
    assert _name(site.routed(f"allowed-{host}")) == "app"
    assert site.edge.wait_routed(f"denied-{host}", "/api", status=403).status == 403


def _client_address(site: Site) -> str:
    """This machine's address as the controller sees it (after kube-proxy's NAT)."""
    headers = app_report(site.routed(site.plain_host()))["headers"]
    return str(headers["X-Real-Ip"][0])


# --- limits ---------------------------------------------------------------------------


def test_limit_rps(site: Site) -> None:
    site.needs(V37, "limit-rps", "limit-burst-multiplier")
    site.ingress("rps.example.com", {"limit-rps": "1", "limit-burst-multiplier": "1"})
    site.routed("rps.example.com")
    statuses = Counter(site.get("rps.example.com", "/bench").status for _ in range(15))
    print(f"\nlimit-rps 1, 15 requests at once: {dict(statuses)}")
    assert statuses[429] >= 10, statuses
    assert set(statuses) == {200, 429}, statuses


def test_limit_rpm(site: Site) -> None:
    site.needs(V37, "limit-rpm", "limit-burst-multiplier")
    site.ingress("rpm.example.com", {"limit-rpm": "5", "limit-burst-multiplier": "1"})
    site.routed("rpm.example.com", "/bench")  # one of the five
    statuses = Counter(site.get("rpm.example.com", "/bench").status for _ in range(10))
    print(f"\nlimit-rpm 5, 10 more requests at once: {dict(statuses)}")
    assert statuses[200] <= 5 and statuses[429] >= 5, statuses


def test_limit_connections(site: Site) -> None:
    site.needs(V37, "limit-connections")
    site.ingress("conns.example.com", {"limit-connections": "2"})
    site.routed("conns.example.com")
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def slow() -> None:
        status = site.get("conns.example.com", "/api?wait=3s").status
        with lock:
            statuses[status] += 1

    threads = [threading.Thread(target=slow) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    print(f"\nlimit-connections 2, 6 concurrent slow requests: {dict(statuses)}")
    assert 1 <= statuses[200] <= 2 and statuses[429] >= 4, statuses


def test_proxy_body_size(site: Site) -> None:
    site.needs(V37, "proxy-body-size")
    site.ingress("body.example.com", {"proxy-body-size": "1k"})
    site.routed("body.example.com")
    assert site.get("body.example.com", "/api", method="POST", body=b"x" * 512).status == 200
    too_big = site.get("body.example.com", "/api", method="POST", body=b"x" * 4096)
    assert too_big.status == 413, too_big.status
    # The controller-wide limit (providers.kubernetesIngressNGINX.proxyBodySize) applies
    # where no annotation says otherwise.
    plain = site.plain_host()
    site.routed(plain)
    assert site.get(plain, "/api", method="POST", body=b"x" * 4096).status == 200
    over = site.get(plain, "/api", method="POST", body=b"x" * (2 * CONTROLLER_BODY_LIMIT))
    assert over.status == 413, over.status


def test_proxy_read_timeout(site: Site) -> None:
    site.needs(V37, "proxy-read-timeout")
    site.ingress("slow.example.com", {"proxy-read-timeout": "1"})
    site.routed("slow.example.com")
    assert site.get("slow.example.com", "/api?wait=200ms").status == 200
    assert site.get("slow.example.com", "/api?wait=3s").status == 504


# --- canary Ingresses -----------------------------------------------------------------


def test_canary_by_header_and_weight(site: Site) -> None:
    site.needs(V37, "canary", "canary-by-header", "canary-weight")
    # Traefik attaches a canary to every Ingress path using the same primary Service, so
    # the primary is a Service of its own (selecting the app pods), not the shared `app`.
    app = site.kube.get("v1", "Service", "app", site.namespace)
    assert app is not None
    site.kube.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "stable", "namespace": site.namespace},
            "spec": {"selector": app["spec"]["selector"], "ports": app["spec"]["ports"]},
        }
    )
    site.ingress("canary.example.com", {}, service="stable", name="canary-main")
    site.ingress(
        "canary.example.com",
        {"canary": "true", "canary-by-header": "X-Canary", "canary-weight": "30"},
        service=GREEN,
        name="canary-green",
    )
    site.routed("canary.example.com")

    def names(headers: dict[str, str], n: int) -> Counter[str]:
        return Counter(
            _name(site.get("canary.example.com", "/api", headers=headers)) for _ in range(n)
        )

    eventually(
        lambda: names({"X-Canary": "always"}, 1) == {"green": 1},
        timeout=60,
        what="the canary Ingress to be applied",
    )
    assert names({"X-Canary": "always"}, 10) == {"green": 10}
    assert names({"X-Canary": "never"}, 10) == {"app": 10}
    split = names({}, 100)
    print(f"\ncanary-weight 30, 100 requests without the header: {dict(split)}")
    assert 15 <= split["green"] <= 45, split  # far outside the 99.9 % interval (17-44)


# --- what the chart says about annotations it cannot honour ---------------------------


def test_unsupported_annotation_warns_at_apply_and_is_otherwise_ignored(site: Site) -> None:
    """Decided behaviour: Traefik ignores an annotation it does not implement without a log
    line or an event, so the chart's ValidatingAdmissionPolicy makes the API server warn
    whoever applies the Ingress (kubectl, helm); the Ingress is served without it."""
    ignored = ["mirror-target"] + (["limit-rps"] if site.traefik < V37 else [])
    helm_said = site.legacy.install.stderr
    for name in ignored:
        assert PREFIX + name in helm_said, helm_said
    assert "ignored, the Ingress is served without them" in helm_said, helm_said

    manifest = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": "unsupported",
            "namespace": site.namespace,
            "annotations": {
                PREFIX + "mirror-target": "http://green/",
                PREFIX + "limit-rps": "50",
                PREFIX + "ssl-redirect": "false",
            },
        },
        "spec": {
            "ingressClassName": "nginx",
            "rules": [
                {
                    "host": "unsupported.example.com",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "app", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ],
        },
    }
    applied = _kubectl_apply(site, manifest)
    print(f"\nkubectl apply said: {applied.stderr.strip()}")
    assert applied.returncode == 0, applied.stderr
    warning = next((line for line in applied.stderr.splitlines() if "Warning:" in line), "")
    for name in ignored:
        assert PREFIX + name in warning, applied.stderr
    assert PREFIX + "ssl-redirect" not in warning  # implemented: no warning
    assert _name(site.routed("unsupported.example.com")) == "app"
    # The controller itself stays silent: no event about the Ingress.
    events = [
        e
        for e in site.kube.events(site.namespace)
        if e["involvedObject"].get("kind") == "Ingress"
        and e["involvedObject"].get("name") == "unsupported"
    ]
    assert events == [], events


def test_snippet_annotations(site: Site) -> None:
    manifest = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": "snippet",
            "namespace": site.namespace,
            "annotations": {PREFIX + "configuration-snippet": "more_set_headers 'X-Evil: 1';"},
        },
        "spec": {
            "ingressClassName": "nginx",
            "rules": [
                {
                    "host": "snippet.example.com",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "app", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ],
        },
    }
    applied = _kubectl_apply(site, manifest)
    assert applied.returncode == 0, applied.stderr
    assert PREFIX + "configuration-snippet" in applied.stderr, applied.stderr
    if site.traefik >= V37:
        # allowSnippetAnnotations is off: Traefik v3.7 refuses the whole Ingress.
        assert "the Ingress is not served at all" in applied.stderr
        # Another Ingress applied after it is routed, so the controller has seen both.
        site.ingress("after-snippet.example.com", {}, name="after-snippet")
        site.routed("after-snippet.example.com")
        assert site.get("snippet.example.com", "/api").status == 404
    else:
        # Traefik v3.6 does not read snippets: the Ingress is served, the snippet dropped.
        assert "ignored, the Ingress is served without them" in applied.stderr
        reply = site.routed("snippet.example.com")
        assert reply.header("X-Evil") is None


def _kubectl_apply(site: Site, manifest: Obj) -> subprocess.CompletedProcess[str]:
    """``kubectl apply`` as a user runs it."""
    return kubectl(site.cluster.kubeconfig, "apply", "-f", "-", stdin=yaml.safe_dump(manifest))
