"""The stack with our example API (examples/api) as the compose topology's api, and a
client that reaches it as a user does: through the ingress controller's load-balancer
address (127.244.0.x on the embedded cluster) with the Host header of the stack's Ingress
(the requests themselves are edge.py's).

Shared by the stack's end-to-end tests and the upgrade-from-every-release test.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from charthouse import paths
from charthouse.cluster import provider as providers

from . import edge
from .kube import Kube, eventually

EXAMPLE_VALUES = paths.REPO_ROOT / "examples" / "stack-values.yaml"
EXAMPLE_IMAGE = "example-api"  # its name in the images catalog


def example_image_values(provider: str) -> dict[str, Any]:
    """Values that make the stack's app run the example API exactly as built now.

    The embedded cluster's ``up`` pushes every catalog image, but one started before
    the example was added or changed lacks it, or holds an older build under the same
    tag: build it (about a second when current), push it where needed, and pin the app
    to the digest the registry serves. On kind the workflow runs ``charthouse images
    kind-load`` before the tests (the tag is loaded into every node); an existing
    cluster must be given the image by its owner."""
    if provider != "embedded":
        return {}
    from charthouse.images import ensure

    state = json.loads((providers.state_dir() / "state.json").read_text())
    (image,) = ensure(f"127.0.0.1:{state['ports']['registry']}", [EXAMPLE_IMAGE])
    return {"app": {"image": {"digest": image.digest}}}


@dataclass(frozen=True)
class Api:
    """The example API behind the stack's edge: the controller's address, the app's host."""

    address: str
    host: str

    def url(self, path: str) -> str:
        """For load.py: the URL to request, with ``headers`` as the Host header."""
        return f"http://{self.address}{path}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Host": self.host}

    def request(
        self, method: str, path: str, body: Any = None, *, timeout: float = 5
    ) -> edge.Reply:
        """One request with a JSON body (when given) on a fresh connection."""
        data = None if body is None else json.dumps(body).encode()
        headers = {} if data is None else {"Content-Type": "application/json"}
        return edge.request(
            self.address,
            self.host,
            path,
            method=method,
            body=data,
            headers=headers,
            timeout=timeout,
        )

    def write_item(self, name: str | None = None) -> dict[str, Any]:
        """POST /items; the row the API returns (id, name, created_at)."""
        wanted = name or f"item-{secrets.token_hex(4)}"
        answer = self.request("POST", "/items", {"name": wanted})
        assert answer.status == 201, f"POST /items through {self}: {answer.status} {answer.text}"
        row: dict[str, Any] = answer.json()
        assert row["name"] == wanted and row["id"] >= 1, row
        return row

    def read_item(self, item_id: int) -> edge.Reply:
        return self.request("GET", f"/items/{item_id}")


def reach(kube: Kube, namespace: str, release: str) -> Api:
    """The API of stack ``release`` as clients reach it: the controller Service's
    load-balancer address and the host of the app's Ingress, once the app answers
    through both (kube-proxy and Traefik pick up new endpoints a moment after the pods
    are Ready)."""
    address = edge.load_balancer_address(kube, namespace, f"{release}-ingress")
    ingresses = [
        i
        for i in kube.items("networking.k8s.io/v1", "Ingress", namespace)
        if i["metadata"].get("labels", {}).get("app.kubernetes.io/instance") == release
    ]
    assert len(ingresses) == 1, [i["metadata"]["name"] for i in ingresses]
    api = Api(address, ingresses[0]["spec"]["rules"][0]["host"])

    def answers() -> bool:
        try:
            return api.request("GET", "/health/ready", timeout=2).status == 200
        except OSError:
            return False

    eventually(answers, timeout=edge.ROUTE_TIMEOUT, what=f"the api to answer through {api}")
    return api
