"""The rollout's Kubernetes calls through the real ``kubernetes`` client, against local
API servers on 127.0.0.1: one that never answers, one that answers at once.
"""

from __future__ import annotations

import http.server
import json
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from charthouse import kubeapi
from charthouse.rollout.kube import Cluster, KubeError
from support.servers import handler_port

SHORT = (0.25, 0.25)


def _client(port: int) -> Any:
    from kubernetes import client

    configuration = client.Configuration()
    configuration.host = f"http://127.0.0.1:{port}"
    configuration.api_key = {"BearerToken": "Bearer t0ken"}
    return kubeapi.bounded(configuration, request_timeout=SHORT)


PROMETHEUS_ANSWER = {"status": "success", "data": {"resultType": "scalar", "result": [0, "0.5"]}}


SEEN: list[tuple[str, str]] = []  # (path?query, Authorization) of each request served


class _ApiServer(http.server.BaseHTTPRequestHandler):
    """Answers a pod read, and a Prometheus query through the service proxy; records
    each request line and its Authorization header."""

    def do_GET(self) -> None:
        # The path as the API server reads it: percent-decoded (the client quotes the
        # ":" of "name:port"), the query string as sent.
        raw_path, _, raw_query = self.path.partition("?")
        path = urllib.parse.unquote(raw_path)
        SEEN.append((f"{path}?{raw_query}", self.headers.get("Authorization", "")))
        if path.startswith("/api/v1/namespaces/shop/pods/"):
            self._answer(200, {"kind": "Pod", "metadata": {"name": "web-0"}})
        elif path.startswith("/api/v1/namespaces/monitoring/services/prom:9090/proxy/"):
            self._answer(200, PROMETHEUS_ANSWER)
        else:
            self._answer(503, {"kind": "Status", "message": "no endpoints available"})

    def _answer(self, code: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def answering_port() -> Iterator[int]:
    with handler_port(_ApiServer) as port:
        yield port


def test_an_api_server_that_never_answers_fails_the_call_naming_the_object(
    silent_api_port: int,
) -> None:
    cluster = Cluster("shop", _client(silent_api_port))
    began = time.monotonic()
    with pytest.raises(KubeError, match=r"Pod shop/web-0: .*timed out"):
        cluster.get("Pod", "web-0")
    assert time.monotonic() - began < 30  # bounded: without the timeout it never returns


CALLS: dict[str, Any] = {
    "pods": lambda c: c.pods({"app": "web"}),
    "endpoint slices": lambda c: c.endpoint_slices("web"),
    "events": lambda c: c.warning_events("web-0"),
    "create pod": lambda c: c.create_pod({"metadata": {"name": "smoke"}}),
    "delete pod": lambda c: c.delete_pod("smoke"),
    "patch pod": lambda c: c.patch_pod("web-0", {"metadata": {"labels": {"a": "b"}}}),
    "create secret": lambda c: c.create_secret({"metadata": {"name": "state"}}),
    "replace secret": lambda c: c.replace_secret({"metadata": {"name": "state"}}),
    "service proxy": lambda c: c.service_proxy_get("prom:9090", "/api/v1/query", {}),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_every_kind_of_call_carries_the_timeout(silent_api_port: int, call: Any) -> None:
    cluster = Cluster("shop", _client(silent_api_port))
    with pytest.raises(KubeError, match="timed out"):
        call(cluster)


def test_reading_logs_gives_up_quietly(silent_api_port: int) -> None:
    """Logs only decorate a failure report: a silent server leaves them empty, in time."""
    cluster = Cluster("shop", _client(silent_api_port))
    began = time.monotonic()
    assert cluster.logs("web-0", "app", previous=False) == ""
    assert time.monotonic() - began < 30


def test_the_namespace_view_is_bounded_too(silent_api_port: int) -> None:
    other = Cluster("shop", _client(silent_api_port)).in_namespace("monitoring")
    with pytest.raises(KubeError, match=r"Pod monitoring/web-0: .*timed out"):
        other.get("Pod", "web-0")


def test_a_body_the_client_refuses_is_an_error_naming_the_object(answering_port: int) -> None:
    """The client checks a body against its own models before sending it (an integer CPU
    quantity is refused there): an error naming the pod, not a traceback mid-rollout."""
    cluster = Cluster("shop", _client(answering_port))
    smoke = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "smoke"},
        "spec": {"containers": [{"name": "t", "image": "x", "resources": {"limits": {"cpu": 1}}}]},
    }
    with pytest.raises(KubeError, match="create pod shop/smoke: the client refused the request"):
        cluster.create_pod(smoke)


def test_an_answering_api_server_is_read_as_before(answering_port: int) -> None:
    cluster = Cluster("shop", _client(answering_port))
    pod = cluster.get("Pod", "web-0")
    assert pod is not None and pod["metadata"]["name"] == "web-0"


def test_a_query_through_the_service_proxy_reaches_the_service_with_auth(
    answering_port: int,
) -> None:
    SEEN.clear()
    cluster = Cluster("shop", _client(answering_port))
    answer = cluster.in_namespace("monitoring").service_proxy_get(
        "prom:9090", "/api/v1/query", {"query": "sum(rate(errors[1m])) > 0"}
    )
    assert answer == PROMETHEUS_ANSWER
    assert SEEN == [
        (
            "/api/v1/namespaces/monitoring/services/prom:9090/proxy/api/v1/query"
            "?query=sum%28rate%28errors%5B1m%5D%29%29%20%3E%200",
            "Bearer t0ken",
        )
    ]


def test_a_service_proxy_error_names_the_service_and_the_status(answering_port: int) -> None:
    cluster = Cluster("shop", _client(answering_port))
    with pytest.raises(
        KubeError, match=r"of service shop/prom:9090: HTTP 503: no endpoints"
    ) as err:
        cluster.service_proxy_get("prom:9090", "/api/v1/query", {"query": "up"})
    assert err.value.status == 503
