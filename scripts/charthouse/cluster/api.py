"""A minimal Kubernetes REST client for clusters whose certificates we made ourselves.

``cluster up`` must answer in seconds, and importing the official client costs
about a second before it sends anything. The embedded provider and the simulated
provisioner need only GET, server-side apply, POST, DELETE and watch with client
certificates, which is a page of standard-library code. Tests use the kubeconfig
through general clients, so any provider works there.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from charthouse.errors import CharthouseError

FIELD_MANAGER = "charthouse"


class ApiError(CharthouseError):
    """The API server answered with an error status."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        message = body
        with contextlib.suppress(ValueError, AttributeError):
            message = json.loads(body).get("message", body)
        super().__init__(f"{method} {path}: HTTP {status}: {message}")
        self.status = status


@dataclass(frozen=True)
class Client:
    """Talks to one API server with a client certificate; a connection per request."""

    server: str
    ca_cert: Path
    client_cert: Path
    client_key: Path
    timeout: float = 10.0

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca_cert))
        context.load_cert_chain(str(self.client_cert), str(self.client_key))
        return context

    def _connection(self, timeout: float | None = None) -> http.client.HTTPSConnection:
        parts = urlsplit(self.server)
        return http.client.HTTPSConnection(
            parts.hostname or "127.0.0.1",
            parts.port or 443,
            context=self._context(),
            timeout=timeout or self.timeout,
        )

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        query: dict[str, str] | None = None,
    ) -> Any:
        url = path + (f"?{urlencode(query)}" if query else "")
        payload = None if body is None else json.dumps(body).encode()
        connection = self._connection()
        try:
            connection.request(
                method,
                url,
                body=payload,
                headers={"Content-Type": content_type, "Accept": "application/json"},
            )
            response = connection.getresponse()
            data = response.read().decode()
        finally:
            connection.close()
        if response.status >= 400:
            raise ApiError(method, path, response.status, data)
        return json.loads(data) if data else None

    def get(self, path: str, **query: str) -> Any:
        return self.request("GET", path, query=query or None)

    def healthy(self, path: str = "/readyz") -> bool:
        """True when ``path`` answers 200; any connection error counts as not yet."""
        try:
            connection = self._connection(timeout=2.0)
            try:
                connection.request("GET", path)
                return connection.getresponse().status == 200
            finally:
                connection.close()
        except (OSError, ssl.SSLError, http.client.HTTPException):
            return False

    def apply(self, path: str, obj: dict[str, Any], *, status: bool = False) -> Any:
        """Server-side apply ``obj`` at ``path`` (the object's own URL), forcing ownership."""
        url = path + ("/status" if status else "")
        return self.request(
            "PATCH",
            url,
            obj,
            content_type="application/apply-patch+yaml",  # JSON is valid YAML
            query={"fieldManager": FIELD_MANAGER, "force": "true"},
        )

    def create(self, path: str, obj: dict[str, Any]) -> Any:
        return self.request("POST", path, obj)

    def delete(self, path: str) -> Any:
        try:
            return self.request("DELETE", path)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def watch(
        self, path: str, resource_version: str, timeout_seconds: int = 300
    ) -> Iterator[dict[str, Any]]:
        """Yield watch events (``{"type", "object"}``) until the server closes the stream."""
        query = urlencode(
            {
                "watch": "1",
                "resourceVersion": resource_version,
                "timeoutSeconds": str(timeout_seconds),
                "allowWatchBookmarks": "true",
            }
        )
        connection = self._connection(timeout=timeout_seconds + 30)
        try:
            connection.request("GET", f"{path}?{query}", headers={"Accept": "application/json"})
            response = connection.getresponse()
            if response.status >= 400:
                raise ApiError("WATCH", path, response.status, response.read().decode())
            for line in response:
                if line.strip():
                    yield json.loads(line)
        finally:
            connection.close()
