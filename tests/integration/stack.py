"""The stack with our example API (examples/api) as the compose topology's api, and a
client that reaches it as a user does: through the ingress controller's load-balancer
address (127.244.0.x on the embedded cluster) with the Host header of the stack's Ingress.

Shared by the stack's end-to-end tests and the upgrade-from-every-release test.
"""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from charthouse import paths
from charthouse.cluster import provider as providers

from .kube import Kube, eventually

EXAMPLE_VALUES = paths.REPO_ROOT / "examples" / "stack-values.yaml"
EXAMPLE_IMAGE = "example-api"  # its name in the images catalog


def example_image_values(provider: str) -> dict[str, Any]:
    """Values that make the stack's app run the example API exactly as built now.

    The embedded cluster's ``up`` pushes every catalog image, but one started before
    the example was added or changed lacks it, or holds an older build under the same
    tag (which a node that already pulled it keeps): build it (about a second when
    current), push it where needed, and pin the app to the digest the registry serves.
    On kind the workflow runs ``charthouse images kind-load`` before the tests (the
    tag is loaded into every node); an existing cluster must be given the image by
    its owner."""
    if provider != "embedded":
        return {}
    from charthouse.images import ensure

    state = json.loads((providers.state_dir() / "state.json").read_text())
    (image,) = ensure(f"127.0.0.1:{state['ports']['registry']}", [EXAMPLE_IMAGE])
    return {"app": {"image": {"digest": image.digest}}}


@dataclass(frozen=True)
class Response:
    status: int
    body: Any  # parsed JSON, or the text when the answer is not JSON (Traefik's 404/503)


@dataclass(frozen=True)
class Edge:
    """The stack's front door: the controller's address and the app's host name."""

    address: str
    host: str

    def request(self, method: str, path: str, body: Any = None, *, timeout: float = 5) -> Response:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://{self.address}{path}", data=data, method=method, headers={"Host": self.host}
        )
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return Response(answer.status, _parse(answer.read()))
        except urllib.error.HTTPError as error:
            return Response(error.code, _parse(error.read()))

    def write_item(self, name: str | None = None) -> dict[str, Any]:
        """POST /items; the row the API returns (id, name, created_at)."""
        wanted = name or f"item-{secrets.token_hex(4)}"
        answer = self.request("POST", "/items", {"name": wanted})
        assert answer.status == 201, f"POST /items through {self}: {answer}"
        row: dict[str, Any] = answer.body
        assert row["name"] == wanted and row["id"] >= 1, row
        return row

    def read_item(self, item_id: int) -> Response:
        return self.request("GET", f"/items/{item_id}")


def _parse(raw: bytes) -> Any:
    text = raw.decode(errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def edge(kube: Kube, namespace: str, release: str) -> Edge:
    """Wait for the controller's load-balancer address, take the host of the app's
    Ingress, and wait until the app answers through both (kube-proxy and Traefik pick
    up new endpoints a moment after the pods are Ready)."""
    service = f"{release}-ingress"

    def address() -> str | None:
        svc = kube.get("v1", "Service", service, namespace)
        found = (svc or {}).get("status", {}).get("loadBalancer", {}).get("ingress") or []
        return str(found[0]["ip"]) if found else None

    ip = eventually(address, timeout=60, what=f"a load-balancer address for {service}")
    assert ip.startswith("127."), f"{service}: {ip} is not a loopback address"
    ingresses = [
        i
        for i in kube.items("networking.k8s.io/v1", "Ingress", namespace)
        if i["metadata"].get("labels", {}).get("app.kubernetes.io/instance") == release
    ]
    assert len(ingresses) == 1, [i["metadata"]["name"] for i in ingresses]
    front = Edge(ip, ingresses[0]["spec"]["rules"][0]["host"])

    def answers() -> bool:
        try:
            return front.request("GET", "/", timeout=2).status == 200
        except OSError:
            return False

    eventually(answers, timeout=60, what=f"the app to answer through {front}")
    return front
