"""The Kubernetes objects a rollout reads and writes, as plain dicts.

The official client handles every kubeconfig authentication (exec plugins, OIDC,
tokens), which a user's production cluster needs; it is imported only when a
rollout command runs. Errors become :class:`KubeError` naming the object.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from charthouse import kubeapi
from charthouse.errors import CharthouseError

Obj = dict[str, Any]
T = TypeVar("T")


class KubeError(CharthouseError):
    """The API server refused or failed a request."""

    def __init__(self, message: str, *, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class ConflictError(KubeError):
    """An update lost a race (HTTP 409): someone else wrote the object first."""


@dataclass
class Cluster:
    """One namespace of one cluster, through the kubeconfig helm uses too."""

    namespace: str
    api_client: Any

    @classmethod
    def connect(cls, namespace: str, kubeconfig: Path | None = None) -> Cluster:
        """Every request bounded in time (:mod:`charthouse.kubeapi`)."""
        return cls(namespace, kubeapi.connect(kubeconfig))

    def _call(self, what: str, call: Callable[[], Any]) -> Any:
        from kubernetes.client.exceptions import ApiException
        from pydantic import ValidationError
        from urllib3.exceptions import HTTPError

        try:
            response = call()
        except ApiException as exc:
            message = exc.reason
            with contextlib.suppress(TypeError, ValueError, AttributeError):
                message = json.loads(exc.body or "").get("message", message)
            kind = ConflictError if exc.status == 409 else KubeError
            raise kind(f"{what}: HTTP {exc.status}: {message}", status=exc.status) from exc
        except (HTTPError, OSError) as exc:
            raise KubeError(f"{what}: {exc}") from exc
        except ValidationError as exc:  # the client checks a body against its models first
            raise KubeError(f"{what}: the client refused the request: {exc}") from exc
        return json.loads(response.data) if response.data else None

    def _core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.api_client)

    def get(self, kind: str, name: str) -> Obj | None:
        """A Deployment, Service, Secret or Pod of the namespace, or None."""
        from kubernetes import client

        readers: dict[str, Callable[..., Any]] = {
            "Deployment": client.AppsV1Api(self.api_client).read_namespaced_deployment,
            "Service": self._core().read_namespaced_service,
            "Secret": self._core().read_namespaced_secret,
            "Pod": self._core().read_namespaced_pod,
        }
        try:
            found: Obj = self._call(
                f"{kind} {self.namespace}/{name}",
                lambda: readers[kind](
                    name,
                    self.namespace,
                    _preload_content=False,
                ),
            )
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise
        return found

    def pods(self, selector: dict[str, str]) -> list[Obj]:
        labels = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
        found = self._call(
            f"pods {labels} in {self.namespace}",
            lambda: self._core().list_namespaced_pod(
                self.namespace,
                label_selector=labels,
                _preload_content=False,
            ),
        )
        return list(found.get("items") or [])

    def endpoint_slices(self, service: str) -> list[Obj]:
        from kubernetes import client

        found = self._call(
            f"EndpointSlices of {self.namespace}/{service}",
            lambda: client.DiscoveryV1Api(self.api_client).list_namespaced_endpoint_slice(
                self.namespace,
                label_selector=f"kubernetes.io/service-name={service}",
                _preload_content=False,
            ),
        )
        return list(found.get("items") or [])

    def warning_events(self, pod: str) -> list[Obj]:
        found = self._call(
            f"events of pod {self.namespace}/{pod}",
            lambda: self._core().list_namespaced_event(
                self.namespace,
                field_selector=f"involvedObject.name={pod},type=Warning",
                _preload_content=False,
            ),
        )
        return list(found.get("items") or [])

    def logs(self, pod: str, container: str, previous: bool) -> str:
        """The last lines a container printed ("" when there are none to read, or the
        API server does not answer: they only decorate a failure report)."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            response = self._core().read_namespaced_pod_log(
                pod,
                self.namespace,
                container=container,
                previous=previous,
                tail_lines=20,
                _preload_content=False,
            )
        except (ApiException, HTTPError, OSError):
            return ""
        return str(response.data.decode(errors="replace"))

    def create_pod(self, body: Obj) -> Obj:
        created: Obj = self._call(
            f"create pod {self.namespace}/{body['metadata']['name']}",
            lambda: self._core().create_namespaced_pod(
                self.namespace, body, _preload_content=False
            ),
        )
        return created

    def delete_pod(self, name: str) -> None:
        try:
            self._call(
                f"delete pod {self.namespace}/{name}",
                lambda: self._core().delete_namespaced_pod(
                    name,
                    self.namespace,
                    grace_period_seconds=0,
                    _preload_content=False,
                ),
            )
        except KubeError as exc:
            if exc.status != 404:
                raise

    def patch_pod(self, name: str, patch: Obj) -> None:
        """A merge patch of a pod's labels or annotations (a pod gone meanwhile is fine)."""
        try:
            self._call(
                f"patch pod {self.namespace}/{name}",
                lambda: self._core().patch_namespaced_pod(
                    name,
                    self.namespace,
                    patch,
                    _preload_content=False,
                ),
            )
        except KubeError as exc:
            if exc.status != 404:
                raise

    def create_secret(self, body: Obj) -> Obj:
        created: Obj = self._call(
            f"create secret {self.namespace}/{body['metadata']['name']}",
            lambda: self._core().create_namespaced_secret(
                self.namespace, body, _preload_content=False
            ),
        )
        return created

    def replace_secret(self, body: Obj) -> Obj:
        """Replace, guarded by ``metadata.resourceVersion`` (a concurrent write: ConflictError)."""
        name = body["metadata"]["name"]
        replaced: Obj = self._call(
            f"update secret {self.namespace}/{name}",
            lambda: self._core().replace_namespaced_secret(
                name,
                self.namespace,
                body,
                _preload_content=False,
            ),
        )
        return replaced

    def service_proxy_get(self, service: str, path: str, query: dict[str, str]) -> Any:
        """GET through the API server's service proxy (``service`` is ``name:port``).

        The generated proxy methods take no query string (a Prometheus query is one),
        so the request is serialised by the client itself: auth from the kubeconfig,
        the namespace and service quoted, ``path`` sent as it is.
        """

        def get() -> Any:
            serialised = self.api_client.param_serialize(
                "GET",
                "/api/v1/namespaces/{namespace}/services/{service}/proxy/" + path.lstrip("/"),
                path_params={"namespace": self.namespace, "service": service},
                query_params=list(query.items()),
                header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"],
            )
            response = self.api_client.call_api(*serialised)
            response.read()
            if not 200 <= response.status < 300:
                from kubernetes.client.exceptions import ApiException

                raise ApiException(http_resp=response)
            return response

        return self._call(f"GET {path} of service {self.namespace}/{service}", get)

    def in_namespace(self, namespace: str) -> Cluster:
        return Cluster(namespace, self.api_client)
