"""The local image registry (the pinned CNCF distribution ``registry``) on 127.0.0.1.

Its storage is a persistent directory (default ``$CHARTHOUSE_HOME/images/registry``),
so images survive a cluster's down/up and are pushed once. The embedded cluster
runs it as one of its processes (:func:`argv`); :func:`running` starts one for
standalone use (``charthouse images push``, tests) when no cluster runs.
:class:`Client` asks it what it holds, over plain HTTP, loopback only.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from charthouse import atomicfile, paths, tools
from charthouse.errors import CharthouseError

# What a mirror is asked to return for a tag (single-platform images only).
MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    )
)


# distribution v3 exports OpenTelemetry traces to localhost:4318 by default, logging an
# error every time nobody listens: no exporter, no traffic and no log noise.
ENV = {"OTEL_TRACES_EXPORTER": "none"}


def default_data_dir() -> Path:
    return paths.cache_home() / "images" / "registry"


def _check_address(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise CharthouseError(f"registry address {address!r}: expected 127.0.0.1:PORT")
    if not host.startswith("127."):
        raise CharthouseError(
            f"registry address {address!r}: the local registry listens on loopback only"
        )
    return host, int(port)


def config(data_dir: Path, address: str) -> str:
    """The registry's configuration: filesystem storage in ``data_dir``, plain HTTP on
    ``address`` (loopback), deletes allowed, no access log (pulls are frequent)."""
    _check_address(address)
    document = {
        "version": "0.1",
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(data_dir)},
            "delete": {"enabled": True},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        # A fixed secret per configuration silences the "no HTTP secret" warning.
        "http": {"addr": address, "secret": secrets.token_hex(16)},
    }
    return json.dumps(document, indent=2) + "\n"  # JSON is YAML


def config_file(data_dir: Path, address: str) -> Path:
    """Where :func:`argv` writes the configuration for ``address`` (beside the data)."""
    return data_dir.with_name(f"registry-{address.replace(':', '-')}.yaml")


def argv(binary: Path, address: str, data_dir: Path | None = None) -> list[str | Path]:
    """The command line of a registry serving ``data_dir`` (default: the persistent
    one) on ``address``; writes its configuration file first."""
    data = data_dir or default_data_dir()
    data.mkdir(parents=True, exist_ok=True)
    path = config_file(data, address)
    atomicfile.write(path, config(data, address))
    return [binary, "serve", path]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a registry, or a test server)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Client:
    """Read-only questions to a registry at ``address`` (host:port)."""

    address: str
    timeout: float = 10.0

    def _request(
        self, method: str, path: str, accept: str = ""
    ) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(f"http://{self.address}{path}", method=method)
        if accept:
            request.add_header("Accept", accept)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), b""
        except (urllib.error.URLError, OSError) as exc:
            raise CharthouseError(f"registry {self.address}: not reachable: {exc}") from exc

    def ready(self) -> bool:
        try:
            return self._request("GET", "/v2/")[0] == 200
        except CharthouseError:
            return False

    def digest(self, path: str, tag: str) -> str | None:
        """The manifest digest the registry serves for ``path:tag``, or None."""
        status, headers, _ = self._request("HEAD", f"/v2/{path}/manifests/{tag}", MANIFEST_TYPES)
        if status == 404:
            return None
        if status != 200:
            raise CharthouseError(f"registry {self.address}: HEAD {path}:{tag} answered {status}")
        return headers.get("Docker-Content-Digest") or None

    def repositories(self) -> list[str]:
        status, _, body = self._request("GET", "/v2/_catalog?n=1000")
        if status != 200:
            raise CharthouseError(f"registry {self.address}: catalog answered {status}")
        repos: list[str] = json.loads(body).get("repositories") or []
        return repos


@contextmanager
def running(data_dir: Path | None = None, port: int = 0) -> Iterator[Client]:
    """A registry process for the block (a free port unless ``port``), stopped after."""
    data = data_dir or default_data_dir()
    address = f"127.0.0.1:{port or free_port()}"
    command = argv(tools.ensure_tool("registry"), address, data)
    log = data.with_name(f"registry-{address.replace(':', '-')}.log")
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(part) for part in command],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, **ENV},
        )
    client = Client(address)
    try:
        deadline = time.monotonic() + 30
        while not client.ready():
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-2000:]
                raise CharthouseError(f"registry on {address} did not start:\n{tail}")
            time.sleep(0.05)
        yield client
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        config_file(data, address).unlink(missing_ok=True)
        log.unlink(missing_ok=True)
