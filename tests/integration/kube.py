"""Reading and writing cluster objects as plain dicts, for any provider's kubeconfig.

Tests compare what the API server stored, so they work with the JSON the server
returns, not with generated model classes. The official client handles every
kubeconfig authentication method (kind, existing clusters); the dynamic client
discovers kinds once per session.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubernetes import dynamic
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

from charthouse import kubeapi
from charthouse.cluster import kstatus

Obj = dict[str, Any]


class Kube:
    def __init__(self, kubeconfig: Path) -> None:
        self.kubeconfig = kubeconfig
        self.api_client = kubeapi.connect(kubeconfig)  # a hung API server fails the test
        self.dyn = dynamic.DynamicClient(self.api_client)  # type: ignore[no-untyped-call]

    def _resource(self, api_version: str, kind: str) -> Any:
        return self.dyn.resources.get(api_version=api_version, kind=kind)

    def serves(self, api_version: str, kind: str) -> bool:
        """Whether the API server serves ``kind`` (a CRD may not be installed)."""
        try:
            self._resource(api_version, kind)
        except ResourceNotFoundError:
            return False
        return True

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> Obj | None:
        try:
            found = self._resource(api_version, kind).get(name=name, namespace=namespace)
        except NotFoundError:
            return None
        result: Obj = found.to_dict()
        return result

    def items(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        *,
        labels: str | None = None,
        fields: str | None = None,
    ) -> list[Obj]:
        found = self._resource(api_version, kind).get(
            namespace=namespace, label_selector=labels, field_selector=fields
        )
        return [item.to_dict() for item in found.items]

    def create(self, obj: Obj) -> Obj:
        resource = self._resource(obj["apiVersion"], obj["kind"])
        created: Obj = resource.create(
            body=obj, namespace=obj["metadata"].get("namespace")
        ).to_dict()
        return created

    def patch(
        self, api_version: str, kind: str, name: str, namespace: str | None, patch: Obj
    ) -> Obj:
        """A JSON merge patch (RFC 7386), as ``kubectl patch --type merge`` sends."""
        patched: Obj = (
            self._resource(api_version, kind)
            .patch(
                body=patch,
                name=name,
                namespace=namespace,
                content_type="application/merge-patch+json",
            )
            .to_dict()
        )
        return patched

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> None:
        with contextlib.suppress(NotFoundError):
            self._resource(api_version, kind).delete(
                name=name, namespace=namespace, body={"propagationPolicy": "Background"}
            )

    def create_namespace(self, name: str, labels: dict[str, str]) -> Obj:
        return self.create(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}
        )

    def pods(self, namespace: str, labels: str | None = None) -> list[Obj]:
        return self.items("v1", "Pod", namespace, labels=labels)

    def events(self, namespace: str) -> list[Obj]:
        events = self.items("v1", "Event", namespace)
        return sorted(events, key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")

    def wait_current(self, objects: list[Obj], *, timeout: float = 120.0) -> None:
        """Wait until every object of a waited kind is kstatus-Current; fail fast on Failed.

        Raises AssertionError listing each unfinished object with its reason.
        """
        waited = [o for o in objects if o.get("kind") in kstatus.WAITED_KINDS]
        deadline = time.monotonic() + timeout
        while True:
            pending = []
            for obj in waited:
                meta = obj["metadata"]
                live = self.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
                verdict = (
                    kstatus.compute(live)
                    if live is not None
                    else kstatus.Verdict(kstatus.IN_PROGRESS, "not found")
                )
                if verdict.status == kstatus.FAILED:
                    raise AssertionError(f"{obj['kind']}/{meta['name']} failed: {verdict.reason}")
                if not verdict.current:
                    pending.append(f"{obj['kind']}/{meta['name']}: {verdict.reason}")
            if not pending:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"not ready after {timeout:.0f}s:\n  " + "\n  ".join(pending))
            time.sleep(0.25)


def eventually(check: Callable[[], Any], *, timeout: float = 60.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns a truthy value (returned); AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (ApiException, KeyError, TypeError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def kubectl(
    kubeconfig: Path, *args: str, timeout: float = 60.0, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The pinned kubectl against the test cluster (what a user types); ``stdin`` feeds
    ``-f -``. The API server's warnings land on stderr, as a user sees them."""
    from charthouse.tools import ensure_tool

    return subprocess.run(
        [str(ensure_tool("kubectl")), "--kubeconfig", str(kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
