"""The edge under test: the ingress chart's controller, reached as a client would reach it.

Requests go from this machine to the controller Service's load-balancer address
(on the embedded cluster a 127.244.0.x address kube-proxy routes to the pods), with
the Host header (and, for HTTPS, the SNI name) of the site asked for. Nothing here
talks to the pods directly: what a test sees is what a user's browser would see.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import ipaddress
import json
import socket
import ssl
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from charthouse import paths
from charthouse.cluster import pki

from .harness import Deployer, Release
from .helm import Helm
from .images import embedded_values
from .kube import Kube, Obj, eventually

EDGE_RELEASE = "edge"
EDGE_SERVICE = f"{EDGE_RELEASE}-ingress"  # the chart's full name for this release
# Traefik answers in milliseconds; a request that takes this long is a failure.
REQUEST_TIMEOUT = 10.0
# The NGINX provider applies an Ingress change after its throttle (2 s) and a reload.
ROUTE_TIMEOUT = 60.0


@dataclass(frozen=True)
class Reply:
    """One HTTP answer: status, headers (case-insensitive lookup) and body."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


class _SNIConnection(http.client.HTTPSConnection):
    """HTTPS to an address with another name in SNI (the site's, not the balancer's)."""

    def __init__(
        self, address: str, port: int, sni: str, context: ssl.SSLContext, timeout: float
    ) -> None:
        super().__init__(address, port, context=context, timeout=timeout)
        self._sni = sni
        self._tls_context = context

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._tls_context.wrap_socket(self.sock, server_hostname=self._sni)


def _unverified() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def request(
    address: str,
    host: str,
    path: str = "/",
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    https: bool = False,
    trust: bytes | None = None,
    timeout: float = REQUEST_TIMEOUT,
) -> Reply:
    """One request to the edge at ``address`` for site ``host``; a fresh connection each time.

    With ``https``, SNI is ``host``; ``trust`` (a PEM CA) makes the client verify the
    served chain and name as a browser would, otherwise any certificate is accepted.
    """
    _local_only(address)
    sent_headers = {"Host": host, "Connection": "close", **(headers or {})}
    connection: http.client.HTTPConnection
    if https:
        context = (
            _unverified() if trust is None else ssl.create_default_context(cadata=trust.decode())
        )
        connection = _SNIConnection(address, 443, host, context, timeout)
    else:
        connection = http.client.HTTPConnection(address, 80, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=sent_headers)
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


def served_certificate(address: str, sni: str, *, timeout: float = REQUEST_TIMEOUT) -> bytes:
    """The DER certificate the edge presents for ``sni`` on port 443."""
    _local_only(address)
    with (
        socket.create_connection((address, 443), timeout=timeout) as raw,
        _unverified().wrap_socket(raw, server_hostname=sni) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der, f"no certificate served for SNI {sni}"
    return der


def fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def _local_only(address: str) -> None:
    """Tests send traffic to this machine only (the embedded cluster's balancer addresses
    are loopback ones); a kind balancer address is a container of this machine too."""
    ip = ipaddress.ip_address(address)
    assert ip.is_loopback or ip.is_private, f"refusing to send test traffic to {address}"


def site_certificate(*hosts: str) -> tuple[pki.KeyPair, pki.KeyPair]:
    """(CA, leaf) made for this test: a throwaway CA and a serving certificate for ``hosts``."""
    ca = pki.create_ca(f"charthouse test CA for {hosts[0]}")
    return ca, pki.issue(ca, hosts[0], dns_names=hosts, server=True)


def tls_secret(name: str, namespace: str, pair: pki.KeyPair) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {"name": name, "namespace": namespace},
        "data": {
            "tls.crt": base64.b64encode(pair.cert_pem).decode(),
            "tls.key": base64.b64encode(pair.key_pem).decode(),
        },
    }


def der_of(pem: bytes) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem.decode())


def load_balancer_address(kube: Kube, namespace: str, service: str) -> str:
    """The address the cluster's load balancer gave ``service``."""

    def assigned() -> str | None:
        live = kube.get("v1", "Service", service, namespace) or {}
        ingress = live.get("status", {}).get("loadBalancer", {}).get("ingress") or []
        return next((item["ip"] for item in ingress if item.get("ip")), None)

    address: str = eventually(
        assigned, timeout=60, what=f"a load-balancer address for Service {namespace}/{service}"
    )
    return address


@dataclass(frozen=True)
class Edge:
    """A deployed controller and the address clients reach it at."""

    release: Release
    address: str
    service: str

    def get(self, host: str, path: str = "/", **options: Any) -> Reply:
        return request(self.address, host, path, **options)

    def wait_routed(
        self, host: str, path: str = "/", *, status: int = 200, **options: Any
    ) -> Reply:
        """Wait until ``host`` + ``path`` answers ``status`` (the controller applies Ingress
        changes asynchronously); return that answer."""

        def answered() -> Reply | None:
            try:
                reply = self.get(host, path, **options)
            except OSError:
                return None
            return reply if reply.status == status else None

        reply: Reply = eventually(
            answered, timeout=ROUTE_TIMEOUT, what=f"{host}{path} to answer {status} via the edge"
        )
        return reply

    def wait_every_backend(self, host: str, path: str = "/", *, requests: int = 20) -> None:
        """Wait until ``requests`` answers in a row through ``host`` + ``path`` are 200.

        A route that splits traffic (a canary weight, several Services) answers 200 from
        its first backend while the controller still has no endpoints for another: its
        share gets 503 until the controller's next configuration. Traefik balances a
        weighted route round-robin, so 20 requests reach every backend of a 20 % split.
        Several controller replicas lag the same way: each loads the route on its own,
        and one is Ready (its ping answers) while it still answers 503. Each request is
        a new connection the Service spreads over the replicas at random, so 20 in a row
        reach both of two with odds of 1 - 2**-19.
        """

        def every_one_answered() -> bool:
            try:
                return all(self.get(host, path).status == 200 for _ in range(requests))
            except OSError:
                return False

        eventually(
            every_one_answered,
            timeout=ROUTE_TIMEOUT,
            what=f"{requests} answers in a row from {host}{path} via the edge",
        )


def deploy_edge(
    deploy: Deployer, helm: Helm, kube: Kube, *, values: dict[str, Any] | None = None
) -> Edge:
    """Install the ingress chart as the cluster's controller and find its address."""
    release = deploy("ingress", helm, release=EDGE_RELEASE, values=values)
    address = load_balancer_address(kube, release.namespace, EDGE_SERVICE)
    return Edge(release, address, EDGE_SERVICE)


def app_report(reply: Reply) -> dict[str, Any]:
    """What the whoami app saw (its /api answer): host, url, headers, hostname, name."""
    assert reply.status == 200, f"expected the app's answer, got {reply.status}: {reply.text[:300]}"
    report: dict[str, Any] = reply.json()
    return report


@cache
def _chart_traefik_tag() -> str:
    values = yaml.safe_load((paths.CHARTS_DIR / "ingress" / "values.yaml").read_text())
    return str(values["image"]["tag"])


def traefik_version(provider: str) -> tuple[int, int, int]:
    """The Traefik the ingress chart runs on this cluster (embedded: the tag it can build)."""
    tag = embedded_values("ingress")["image"]["tag"] if provider == "embedded" else None
    major, minor, patch = (tag or _chart_traefik_tag()).lstrip("v").split(".")[:3]
    return int(major), int(minor), int(patch)
