"""A small catalog of two images (base, app FROM base) and a backend that keeps
images in memory, so the builder's caching and bookkeeping run offline in
milliseconds."""

from __future__ import annotations

import hashlib
import json
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from charthouse.images import catalog
from charthouse.images.backends import LocalImage


def write_catalog(
    root: Path,
    *,
    base_from: str = "scratch",
    app_from: str = "docker.io/library/base:1",
    app_dockerfile: str | None = None,
    build_args: str = "",
    base_extra: str = "",
    app_extra: str = "",
) -> catalog.Catalog:
    images = root / "images"
    for name, dockerfile in (
        ("base", f"FROM {base_from}\nCOPY hello /hello\n"),
        ("app", app_dockerfile or f"FROM {app_from}\nCOPY app.txt /\n"),
    ):
        (images / name).mkdir(parents=True, exist_ok=True)
        (images / name / "Dockerfile").write_text(dockerfile)
    (images / "base" / "hello").write_text("hello\n")
    (images / "app" / "app.txt").write_text("app\n")
    pins = root / "tools.yaml"
    pins.write_text(
        "imageInputs:\n  debian: {suite: trixie, mirror: http://deb.example}\n"
        "  sourceDateEpoch: 1764547200\n"
        "images:\n"
        "  base:\n    ref: docker.io/library/base:1\n    upstream: u\n    builtFrom: b\n"
        + base_extra
        + "  app:\n    ref: docker.io/library/app:1\n    upstream: u\n    builtFrom: b\n"
        + build_args
        + app_extra
    )
    return catalog.load(pins, images)


class FakeBackend:
    """Builds by hashing the context (so the image ID follows the content), and can
    be told to fail, like a killed or broken build."""

    name = "fake"
    pulls_bases = False

    def __init__(self) -> None:
        self.store: dict[str, LocalImage] = {}
        self.builds: list[str] = []
        self.pushes: list[tuple[str, str]] = []
        self.fail_on: str = ""
        self.contexts: list[Path] = []
        self.tags: list[tuple[str, str]] = []
        self.registry_push = False
        self.stages: dict[str, dict[str, dict[str, bytes]]] = {}

    def build(
        self,
        context: Path,
        tag: str,
        build_args: Mapping[str, str],
        timestamp: int,
        *,
        stages: Mapping[str, Path] | None = None,
    ) -> None:
        self.contexts.append(context)
        assert (context / "Dockerfile").is_file()
        # What each replaced stage's build context held, as the build saw it.
        self.stages[tag] = {
            name: {p.name: p.read_bytes() for p in path.iterdir()}
            for name, path in (stages or {}).items()
        }
        if tag == self.fail_on:
            raise RuntimeError(f"build of {tag} killed")
        digest = hashlib.sha256()
        for path in sorted(
            [*context.rglob("*"), *(p for d in (stages or {}).values() for p in d.rglob("*"))]
        ):
            if path.is_file():
                digest.update(path.name.encode() + path.read_bytes())
        digest.update(repr(sorted(build_args.items())).encode())
        self.store[tag] = LocalImage("sha256:" + digest.hexdigest(), 1000)
        self.builds.append(tag)

    def images(self) -> dict[str, LocalImage]:
        return dict(self.store)

    def tag(self, ref: str, new: str) -> None:
        self.store[new] = self.store[ref]
        self.tags.append((ref, new))

    def push(self, ref: str, destination: str) -> None:
        """Upload a manifest naming the image ID to a real registry at ``destination``,
        so its digest follows the image as a real push's does."""
        self.pushes.append((ref, destination))
        if self.registry_push:
            put_manifest(destination, self.store[ref].image_id)

    def remove_leftovers(self) -> None:
        pass


def put_manifest(destination: str, image_id: str) -> None:
    """``host:port/path:tag`` <- an OCI manifest whose config blob is ``image_id``
    (the registry API a push uses: blob upload, then the manifest)."""
    host, _, rest = destination.partition("/")
    path, _, tag = rest.rpartition(":")
    blob = image_id.encode()
    blob_digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    start = urllib.request.Request(f"http://{host}/v2/{path}/blobs/uploads/", method="POST")
    with urllib.request.urlopen(start, timeout=10) as response:
        location = response.headers["Location"]
    upload = urllib.parse.urljoin(f"http://{host}/", location)
    upload += ("&" if "?" in upload else "?") + f"digest={blob_digest}"
    put = urllib.request.Request(upload, data=blob, method="PUT")
    put.add_header("Content-Type", "application/octet-stream")
    urllib.request.urlopen(put, timeout=10).close()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": blob_digest,
            "size": len(blob),
        },
        "layers": [],
    }
    request = urllib.request.Request(
        f"http://{host}/v2/{path}/manifests/{tag}",
        data=json.dumps(manifest).encode(),
        method="PUT",
    )
    request.add_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
    urllib.request.urlopen(request, timeout=10).close()
