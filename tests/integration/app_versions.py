"""The app versions the rollout traffic tests ship, as tags of the app chart's image in the
cluster's local registry (127.0.0.1), made from images the registry already holds.

A rollout moves one Deployment from tag to tag, so each version is a tag of
``traefik/whoami`` (the app chart's image):

* ``rollout-v2``: the same image as v1.11.0 under a new tag: a good new version.
* ``rollout-unready``: TEST IMAGE, not whoami: busybox's httpd serving the startup and
  liveness paths but never the readiness one (its readiness probe never passes).
* ``rollout-smoke500``: TEST IMAGE, not whoami: busybox's httpd, healthy by every probe,
  whose smoke-test path (``/cgi-bin/smoke``) answers 500.

Made with the registry's HTTP API only (manifests and blobs are copied or mounted, a
config blob is rewritten for the test images): no Docker, no crane.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from charthouse.cluster import provider as providers

APP_REPO = "traefik/whoami"
APP_TAG = "v1.11.0"
BUSYBOX_REPO = "library/busybox"
BUSYBOX_TAG = "1.37.0"
SMOKE_PATH = "/cgi-bin/smoke"
GOOD, UNREADY, SMOKE_500 = "rollout-v2", "rollout-unready", "rollout-smoke500"

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEXES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
ACCEPT = ", ".join((MANIFEST, DOCKER_MANIFEST, *INDEXES))

_HTTPD = """
set -e
mkdir -p /tmp/www/health /tmp/www/cgi-bin
echo ok > /tmp/www/health/startup
echo ok > /tmp/www/health/live
{ready}
cat > /tmp/www/cgi-bin/smoke <<'CGI'
#!/bin/sh
echo "Status: 500 Internal Server Error"
echo "Content-Type: text/plain"
echo
echo broken
CGI
chmod +x /tmp/www/cgi-bin/smoke
exec httpd -f -p 8080 -h /tmp/www
"""
SCRIPTS = {
    UNREADY: _HTTPD.format(ready="# no /health/ready: the readiness probe gets 404 forever"),
    SMOKE_500: _HTTPD.format(ready="echo ok > /tmp/www/health/ready"),
}


def registry_address() -> str | None:
    """``127.0.0.1:PORT`` of the cluster's registry: ``$CHARTHOUSE_REGISTRY``, or the
    embedded cluster's state file."""
    if os.environ.get("CHARTHOUSE_REGISTRY"):
        return os.environ["CHARTHOUSE_REGISTRY"]
    state = providers.state_dir() / "state.json"
    try:
        port = json.loads(Path(state).read_text()).get("ports", {}).get("registry")
    except (OSError, ValueError):
        return None
    return f"127.0.0.1:{port}" if port else None


@dataclass(frozen=True)
class Registry:
    address: str

    def _request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(
            f"http://{self.address}{path}", data=body, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def manifest(self, repo: str, ref: str) -> tuple[dict[str, Any], str]:
        status, headers, body = self._request(
            "GET", f"/v2/{repo}/manifests/{ref}", headers={"Accept": ACCEPT}
        )
        assert status == 200, f"{self.address}/{repo}:{ref}: HTTP {status} {body[:200]!r}"
        document: dict[str, Any] = json.loads(body)
        media_type = document.get("mediaType") or headers.get("Content-Type", MANIFEST)
        if media_type in INDEXES:
            chosen = next(
                m
                for m in document["manifests"]
                if (m.get("platform") or {}).get("architecture", "amd64") == "amd64"
            )
            return self.manifest(repo, chosen["digest"])
        return document, media_type

    def put_manifest(self, repo: str, tag: str, document: dict[str, Any], media_type: str) -> None:
        body = json.dumps(document).encode()
        status, _, answer = self._request(
            "PUT", f"/v2/{repo}/manifests/{tag}", body=body, headers={"Content-Type": media_type}
        )
        assert status == 201, f"PUT {repo}:{tag}: HTTP {status} {answer[:200]!r}"

    def blob(self, repo: str, digest: str) -> bytes:
        status, _, body = self._request("GET", f"/v2/{repo}/blobs/{digest}")
        assert status == 200, f"GET blob {repo}@{digest}: HTTP {status}"
        return body

    def mount(self, repo: str, digest: str, source: str) -> None:
        status, _, body = self._request(
            "POST", f"/v2/{repo}/blobs/uploads/?mount={digest}&from={source}", body=b""
        )
        assert status == 201, f"mount {source}@{digest} into {repo}: HTTP {status} {body[:200]!r}"

    def upload(self, repo: str, data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        status, headers, body = self._request("POST", f"/v2/{repo}/blobs/uploads/", body=b"")
        assert status == 202, f"start upload to {repo}: HTTP {status} {body[:200]!r}"
        location = headers["Location"]
        separator = "&" if "?" in location else "?"
        path = location.removeprefix(f"http://{self.address}")
        status, _, body = self._request(
            "PUT",
            f"{path}{separator}digest={digest}",
            body=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert status == 201, f"upload to {repo}: HTTP {status} {body[:200]!r}"
        return digest


def _derive(registry: Registry, tag: str, script: str) -> None:
    """``APP_REPO:tag`` = busybox with ``sh -c script`` as its entrypoint."""
    manifest, media_type = registry.manifest(BUSYBOX_REPO, BUSYBOX_TAG)
    for layer in manifest["layers"]:
        registry.mount(APP_REPO, layer["digest"], BUSYBOX_REPO)
    config = json.loads(registry.blob(BUSYBOX_REPO, manifest["config"]["digest"]))
    config.setdefault("config", {}).update(Entrypoint=["sh", "-c", script], Cmd=[])
    raw = json.dumps(config).encode()
    manifest["config"] = {
        **manifest["config"],
        "digest": registry.upload(APP_REPO, raw),
        "size": len(raw),
    }
    registry.put_manifest(APP_REPO, tag, manifest, media_type)


def ensure(address: str) -> dict[str, str]:
    """Push the versions (idempotent); return them by role."""
    registry = Registry(address)
    manifest, media_type = registry.manifest(APP_REPO, APP_TAG)
    registry.put_manifest(APP_REPO, GOOD, manifest, media_type)
    for tag, script in SCRIPTS.items():
        _derive(registry, tag, script)
    return {"stable": APP_TAG, "good": GOOD, "unready": UNREADY, "smoke500": SMOKE_500}
