"""The optional Prometheus gate: one instant query, one number, inside bounds.

Prometheus is reached either at a URL (``http(s)://host:port``) or, as it usually runs
in the cluster with no way in from a CI runner, through the API server's service
proxy (``namespace/service:port``): no port-forward, no extra credentials.
"""

from __future__ import annotations

import json
import math
import string
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from charthouse.errors import CharthouseError
from charthouse.rollout.settings import PrometheusGate

QUERY_PATH = "api/v1/query"
TIMEOUT_SECONDS = 10.0


class ServiceProxy(Protocol):
    def in_namespace(self, namespace: str) -> ServiceProxy: ...

    def service_proxy_get(self, service: str, path: str, query: dict[str, str]) -> Any: ...


@dataclass(frozen=True)
class Reading:
    """A query's result: a number, or None when Prometheus had no sample (inconclusive)."""

    value: float | None
    query: str

    def describe(self) -> str:
        shown = "no data" if self.value is None else f"{self.value:g}"
        return f"{shown} from {self.query}"


def render_query(template: str, variables: Mapping[str, str]) -> str:
    """``$release``, ``$namespace``, ``$track``, ``$version`` replaced (PromQL's braces
    stay as they are, which ``str.format`` would not allow)."""
    return string.Template(template).safe_substitute(variables)


def parse(payload: Any, query: str) -> Reading:
    """The single number in a ``/api/v1/query`` answer."""
    if not isinstance(payload, dict) or payload.get("status") != "success":
        error = payload.get("error") if isinstance(payload, dict) else payload
        raise CharthouseError(f"prometheus: query {query!r} failed: {error}")
    data = payload.get("data") or {}
    kind, result = data.get("resultType"), data.get("result") or []
    if kind == "scalar":
        raw = result[1]
    elif kind == "vector":
        if not result:
            return Reading(None, query)
        if len(result) > 1:
            raise CharthouseError(
                f"prometheus: query {query!r} returned {len(result)} series; aggregate it "
                "to one number (sum, max, ...)"
            )
        raw = result[0]["value"][1]
    else:
        raise CharthouseError(f"prometheus: query {query!r} gave a {kind}, not a number")
    value = float(raw)
    return Reading(None if math.isnan(value) else value, query)


def within(reading: Reading, gate: PrometheusGate) -> bool | None:
    """True or False against the bounds; None when inconclusive."""
    if reading.value is None:
        return None
    if gate.max is not None and reading.value > gate.max:
        return False
    return not (gate.min is not None and reading.value < gate.min)


def query(gate: PrometheusGate, text: str, proxy: ServiceProxy) -> Reading:
    """Run ``text`` against the gate's Prometheus."""
    if gate.address.startswith(("http://", "https://")):
        url = f"{gate.address.rstrip('/')}/{QUERY_PATH}?{urllib.parse.urlencode({'query': text})}"
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
                payload = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            try:
                payload = json.loads(exc.read())
            except ValueError:
                raise CharthouseError(f"prometheus: {url}: HTTP {exc.code}") from exc
        except (OSError, ValueError) as exc:
            raise CharthouseError(f"prometheus: {gate.address}: {exc}") from exc
        return parse(payload, text)
    namespace, _, service = gate.address.partition("/")
    payload = proxy.in_namespace(namespace).service_proxy_get(service, QUERY_PATH, {"query": text})
    return parse(payload, text)
