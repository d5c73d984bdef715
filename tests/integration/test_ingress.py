"""The ingress chart as the cluster's edge, with real traffic from this machine.

Every request goes to the controller Service's load-balancer address with the Host
header (and SNI) of the site asked for, as a browser's would:
- a service's typical production Ingress (class ``nginx``, host ``api.example.com``, TLS
  from the Secret ``api-tls``), rendered by the app chart, reaches the app and serves the
  Secret's certificate; both Helm majors install it (Helm 4 applies server-side);
- the chart's Gateway with the app chart's HTTPRoute splits requests by canary weight;
- deleting one of two controller replicas under load fails no request.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from .edge import (
    app_report,
    deploy_edge,
    der_of,
    fingerprint,
    served_certificate,
    site_certificate,
    tls_secret,
)
from .harness import Deployer
from .helm import Helm
from .kube import Kube, eventually
from .load import Load, binomial_interval, burst

pytestmark = [pytest.mark.integration, pytest.mark.exclusive_cluster_objects]

HOST = "api.example.com"
TLS_SECRET = "api-tls"
APP_WITH_INGRESS = {
    "ingress": {
        "enabled": True,
        "className": "nginx",
        "hosts": [{"host": HOST, "paths": [{"path": "/", "pathType": "Prefix"}]}],
        "tls": [{"hosts": [HOST], "secretName": TLS_SECRET}],
    }
}


def test_ingress_routes_its_host_to_the_app_and_serves_the_secret_certificate(
    helm: Helm, deploy: Deployer, kube: Kube, namespace: str
) -> None:
    ca, site = site_certificate(HOST)
    kube.create(tls_secret(TLS_SECRET, namespace, site))
    edge = deploy_edge(deploy, helm, kube)
    deploy("app", helm, values=APP_WITH_INGRESS)

    # HTTPS as a browser does it: SNI api.example.com, chain and name verified.
    reply = edge.wait_routed(HOST, "/api", https=True, trust=ca.cert_pem)
    seen = app_report(reply)
    assert seen["host"] == HOST
    assert seen["url"] == "/api"
    assert seen["hostname"].startswith("app-"), seen["hostname"]  # an app pod answered
    print(f"\nhttps://{HOST}/api via {edge.address} answered by pod {seen['hostname']}")

    served = fingerprint(served_certificate(edge.address, HOST))
    assert served == fingerprint(der_of(site.cert_pem)), "the edge serves another certificate"
    # The certificate is chosen by SNI: another name gets the controller's default one.
    assert fingerprint(served_certificate(edge.address, "unknown.example.com")) != served

    # Plain HTTP on a TLS host is redirected to HTTPS (ingress-nginx's ssl-redirect default).
    plain = edge.get(HOST, "/api?page=2")
    assert plain.status == 308, (plain.status, plain.text[:200])
    assert plain.header("Location") == f"https://{HOST}/api?page=2"
    # A host no Ingress names is the controller's 404, not the app's answer.
    assert edge.get("nobody.example.com", "/api").status == 404

    # The controller publishes its address in the Ingress status (what `kubectl get ingress`
    # and external-dns read).
    def published() -> list[str]:
        live = kube.get("networking.k8s.io/v1", "Ingress", "app", namespace) or {}
        ingress = live.get("status", {}).get("loadBalancer", {}).get("ingress") or []
        return [item.get("ip") for item in ingress]

    assert eventually(published, timeout=30, what="the Ingress status") == [edge.address]


FAILOVER_HOST = "failover.example.com"


@pytest.mark.parametrize("helm", [4], indirect=True, ids=["helm4"])
def test_deleting_one_of_two_controller_replicas_under_load_fails_no_request(
    helm: Helm, deploy: Deployer, kube: Kube, namespace: str
) -> None:
    edge = deploy_edge(deploy, helm, kube, values={"controller": {"replicaCount": 2}})
    deploy(
        "app",
        helm,
        values={
            "replicaCount": 2,
            "ingress": {
                "enabled": True,
                "hosts": [{"host": FAILOVER_HOST, "paths": [{"path": "/", "pathType": "Prefix"}]}],
            },
        },
    )
    edge.wait_every_backend(FAILOVER_HOST, "/bench")  # both replicas route the host
    controllers = _controller_pods(kube, namespace)
    assert len(controllers) == 2, controllers
    victim = controllers[0]

    url = f"http://{edge.address}/bench"
    with Load(url, rate=100, headers={"Host": FAILOVER_HOST}) as load:
        time.sleep(3)  # steady traffic on both replicas first
        deleted = datetime.now(UTC)
        kube.delete("v1", "Pod", victim, namespace)  # graceful: SIGTERM, then the grace period
        eventually(
            lambda: (
                victim not in _controller_pods(kube, namespace, ready_only=False)
                and len(_controller_pods(kube, namespace)) == 2
            ),
            timeout=120,
            what=f"{victim} gone and a replacement Ready",
        )
        replaced = datetime.now(UTC)
        time.sleep(3)  # and on the new pair right after the switch
    results = load.results
    during = results.count(lambda r: deleted <= r.started <= replaced)
    print(
        f"\nfailover: {results.summary()}; {during} requests sent in the "
        f"{(replaced - deleted).total_seconds():.1f}s while {victim} terminated and was replaced"
    )
    assert during > 0
    assert results.failed == 0, results.failure_report()
    assert results.count(lambda r: r.code == 200) == results.sent


def _controller_pods(kube: Kube, namespace: str, *, ready_only: bool = True) -> list[str]:
    selector = "app.kubernetes.io/name=ingress,app.kubernetes.io/component=controller"
    names = []
    for pod in kube.pods(namespace, labels=selector):
        conditions = pod.get("status", {}).get("conditions") or []
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
        terminating = bool(pod["metadata"].get("deletionTimestamp"))
        if not ready_only or (ready and not terminating):
            names.append(pod["metadata"]["name"])
    return sorted(names)


CANARY_HOST = "canary.example.com"
CANARY_REQUESTS = 1000


@pytest.mark.parametrize("helm", [4], indirect=True, ids=["helm4"])
def test_gateway_and_httproute_split_requests_by_canary_weight(
    helm: Helm, deploy: Deployer, kube: Kube, namespace: str
) -> None:
    weight = 20
    edge = deploy_edge(
        deploy, helm, kube, values={"providers": {"kubernetesGateway": {"enabled": True}}}
    )
    gateway = kube.get("gateway.networking.k8s.io/v1", "Gateway", edge.service, namespace)
    assert gateway is not None, "the chart rendered no Gateway although the CRDs are served"
    deploy(
        "app",
        helm,
        values={
            "replicaCount": 4,
            "rollout": {"strategy": "canary", "canary": {"weight": weight, "tag": "v1.10.4"}},
            "httpRoute": {
                "enabled": True,
                "parentRefs": [{"name": edge.service}],
                "hostnames": [CANARY_HOST],
            },
        },
    )
    edge.wait_every_backend(CANARY_HOST, "/api")
    assert _condition(kube, "Gateway", edge.service, namespace, "Programmed")
    route = kube.get("gateway.networking.k8s.io/v1", "HTTPRoute", "app", namespace) or {}
    parents = route.get("status", {}).get("parents") or []
    assert any(
        c["type"] == "Accepted" and c["status"] == "True"
        for p in parents
        for c in p.get("conditions") or []
    ), parents

    answers = burst(f"http://{edge.address}/api", CANARY_REQUESTS, headers={"Host": CANARY_HOST})
    assert answers.failed == 0, answers.failure_report()
    tracks = answers.tally(lambda r: _track(json.loads(r.body)["hostname"]))
    low, high = binomial_interval(CANARY_REQUESTS, weight / 100)
    print(
        f"\ncanary through Gateway {edge.service} + HTTPRoute app at weight {weight}: "
        f"{tracks['canary']} of {CANARY_REQUESTS} to the canary "
        f"({tracks['canary'] / CANARY_REQUESTS:.1%}; 99.9 % binomial interval {low}-{high}), "
        f"{tracks['stable']} to stable"
    )
    assert set(tracks) == {"stable", "canary"}, tracks
    assert low <= tracks["canary"] <= high, (tracks, (low, high))


def _track(hostname: str) -> str:
    """Which Deployment a pod name belongs to: ``app-canary-...`` or the stable ``app-...``."""
    return "canary" if hostname.startswith("app-canary-") else "stable"


def _condition(kube: Kube, kind: str, name: str, namespace: str, condition: str) -> bool:
    live = kube.get("gateway.networking.k8s.io/v1", kind, name, namespace) or {}
    conditions = live.get("status", {}).get("conditions") or []
    return any(c["type"] == condition and c["status"] == "True" for c in conditions)
